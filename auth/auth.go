// Package auth owns who may use the review API: users and their roles,
// argon2id passwords, login throttling, sessions and API tokens, kept in
// Postgres. The HTTP side (cookies, CSRF, middleware) is server's; auth
// knows no transport.
package auth

import "github.com/radraft/radraft/internal/pgexec"

// Store keeps users, sessions, tokens and login attempts. It is safe for
// concurrent use.
type Store struct{ db pgexec.Executor }

// New returns the store kept on db.
func New(db pgexec.Executor) *Store { return &Store{db: db} }
