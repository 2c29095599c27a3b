package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/crypto/argon2"
)

// Roles of users of the review API.
const (
	RoleRadiologist = "radiologist"
	RoleQALead      = "qa_lead"
	RoleAdmin       = "admin"
)

// Roles lists every role, for validation and tests.
var Roles = []string{RoleRadiologist, RoleQALead, RoleAdmin}

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// User is an account of the review API.
type User struct {
	ID        int64     `json:"id"`
	Username  string    `json:"username"`
	Role      string    `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

// Errors of users, sessions and tokens.
var (
	ErrUserExists      = errors.New("auth: user exists")
	ErrBadCredentials  = errors.New("auth: unknown user or wrong password")
	ErrNoSession       = errors.New("auth: no such session")
	ErrBadRole         = errors.New("auth: unknown role")
	ErrPasswordTooWeak = errors.New("auth: password must be at least 10 characters")
	ErrUserNotFound    = errors.New("auth: no such user")
	ErrTokenNotFound   = errors.New("auth: no such API token")
)

// Argon2Params are the argon2id parameters new hashes use; existing hashes
// keep the parameters written in them. Tests may lower them.
var Argon2Params = struct {
	Time, MemoryKiB uint32
	Threads         uint8
}{Time: 3, MemoryKiB: 64 * 1024, Threads: 2}

// HashPassword returns an argon2id PHC string with a fresh 16-byte salt:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash> (unpadded base64).
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	p := Argon2Params
	var key []byte
	withHashSlot(context.Background(), func() { //nolint:errcheck // no deadline: it cannot fail
		key = argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, 32)
	})
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the PHC string hash. At
// most a few hashes run at once (see hashSlots); it waits for a slot until
// ctx ends, and then returns ctx's error.
func CheckPassword(ctx context.Context, hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, nil
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, nil
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, nil
	}
	var got []byte
	if err := withHashSlot(ctx, func() { got = argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want))) }); err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// CreateUser adds a user with a hashed password.
func (s *Store) CreateUser(ctx context.Context, username, role, password string) (User, error) {
	username = strings.TrimSpace(username)
	if username == "" {
		return User{}, errors.New("auth: empty username")
	}
	if !ValidRole(role) {
		return User{}, ErrBadRole
	}
	if len([]rune(password)) < 10 {
		return User{}, ErrPasswordTooWeak
	}
	hash, err := HashPassword(password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.db.QueryRow(ctx, `INSERT INTO users (username, role, password_hash) VALUES ($1,$2,$3)
		RETURNING id, username, role, disabled, created_at`, username, role, hash).
		Scan(&u.ID, &u.Username, &u.Role, &u.Disabled, &u.CreatedAt)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return User{}, ErrUserExists
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: create user: %w", err)
	}
	return u, nil
}

// SetPassword replaces a user's password and ends their sessions.
func (s *Store) SetPassword(ctx context.Context, username, password string) error {
	if len([]rune(password)) < 10 {
		return ErrPasswordTooWeak
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `UPDATE users SET password_hash=$2, updated_at=now() WHERE username=$1 RETURNING id`,
			username, hash).Scan(&id); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrUserNotFound
			}
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id=$1`, id)
		return err
	})
}

// ListUsers returns every user, by username.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.db.Query(ctx, `SELECT id, username, role, disabled, created_at FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("auth: list users: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) {
		var u User
		err := r.Scan(&u.ID, &u.Username, &u.Role, &u.Disabled, &u.CreatedAt)
		return u, err
	})
}

// Authenticate checks a username and password; a disabled or unknown user
// and a wrong password all give ErrBadCredentials.
func (s *Store) Authenticate(ctx context.Context, username, password string) (User, error) {
	var u User
	var hash string
	err := s.db.QueryRow(ctx, `SELECT id, username, role, disabled, created_at, password_hash FROM users WHERE username=$1`,
		username).Scan(&u.ID, &u.Username, &u.Role, &u.Disabled, &u.CreatedAt, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		// The same work as for a user who exists.
		if _, err := CheckPassword(ctx, dummyHash(), password); err != nil {
			return User{}, fmt.Errorf("auth: authenticate: %w", err)
		}
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: authenticate: %w", err)
	}
	ok, err := CheckPassword(ctx, hash, password)
	if err != nil {
		return User{}, fmt.Errorf("auth: authenticate: %w", err)
	}
	if !ok || u.Disabled {
		return User{}, ErrBadCredentials
	}
	return u, nil
}

// Session is a logged-in browser session.
type Session struct {
	User      User
	CSRFToken string
	ExpiresAt time.Time
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// CreateSession starts a session for u lasting ttl; it returns the cookie
// value (stored only as a hash) and the session with its CSRF token.
func (s *Store) CreateSession(ctx context.Context, u User, ttl time.Duration, remoteAddr string) (string, Session, error) {
	id := randomToken(32)
	sess := Session{User: u, CSRFToken: randomToken(32), ExpiresAt: time.Now().Add(ttl)}
	_, err := s.db.Exec(ctx, `INSERT INTO sessions (id_hash, user_id, csrf_token, remote_addr, expires_at)
		VALUES ($1,$2,$3,$4,$5)`, tokenHash(id), u.ID, sess.CSRFToken, remoteAddr, sess.ExpiresAt)
	if err != nil {
		return "", Session{}, fmt.Errorf("auth: create session: %w", err)
	}
	// Opportunistic clean-up of expired sessions.
	s.db.Exec(ctx, `DELETE FROM sessions WHERE expires_at < now() - interval '1 day'`) //nolint:errcheck
	return id, sess, nil
}

// DefaultSessionMax is the longest a session lives after login when the
// caller gives no limit.
const DefaultSessionMax = 12 * time.Hour

// SessionByID returns the live session of a cookie value, sliding its
// expiry to idle from now when idle > 0, but never past max after login
// (DefaultSessionMax when max <= 0). The row is written at most once a
// minute per session, so that reads do not each cost a commit.
func (s *Store) SessionByID(ctx context.Context, id string, idle, max time.Duration) (Session, error) {
	if max <= 0 {
		max = DefaultSessionMax
	}
	var sess Session
	u := &sess.User
	var lastSeen time.Time
	h := tokenHash(id)
	err := s.db.QueryRow(ctx, `SELECT u.id, u.username, u.role, u.disabled, u.created_at, se.csrf_token, se.expires_at, se.last_seen_at
		FROM sessions se JOIN users u ON u.id = se.user_id
		WHERE se.id_hash = $1 AND se.expires_at > now() AND NOT u.disabled`, h).
		Scan(&u.ID, &u.Username, &u.Role, &u.Disabled, &u.CreatedAt, &sess.CSRFToken, &sess.ExpiresAt, &lastSeen)
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("auth: session: %w", err)
	}
	if idle > 0 && time.Since(lastSeen) > time.Minute {
		err = s.db.QueryRow(ctx, `UPDATE sessions SET last_seen_at = now(),
			expires_at = LEAST(created_at + make_interval(secs => $3::bigint), now() + make_interval(secs => $2::bigint))
			WHERE id_hash = $1 RETURNING expires_at`, h, int64(idle/time.Second), int64(max/time.Second)).Scan(&sess.ExpiresAt)
		if err != nil {
			return Session{}, fmt.Errorf("auth: session: %w", err)
		}
	}
	return sess, nil
}

// DeleteSession ends a session (logout).
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM sessions WHERE id_hash=$1`, tokenHash(id))
	return err
}

// APIToken describes a bearer token (never the token itself).
type APIToken struct {
	ID         int64      `json:"id"`
	Username   string     `json:"username"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// APITokenPrefix starts every bearer token radraft issues.
const APITokenPrefix = "rdt_"

// CreateAPIToken issues a bearer token for username; the token is returned
// once and only its hash is kept.
func (s *Store) CreateAPIToken(ctx context.Context, username, name string) (string, APIToken, error) {
	tok := APITokenPrefix + randomToken(32)
	t := APIToken{Username: username, Name: name}
	err := s.db.QueryRow(ctx, `INSERT INTO api_tokens (user_id, name, token_hash)
		SELECT id, $2, $3 FROM users WHERE username=$1 RETURNING id, created_at`, username, name, tokenHash(tok)).
		Scan(&t.ID, &t.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", APIToken{}, ErrUserNotFound
	}
	if err != nil {
		return "", APIToken{}, fmt.Errorf("auth: create token: %w", err)
	}
	return tok, t, nil
}

// UserByAPIToken returns the user of a live bearer token; last_used_at is
// written at most once a minute.
func (s *Store) UserByAPIToken(ctx context.Context, tok string) (User, error) {
	var u User
	var id int64
	var last *time.Time
	err := s.db.QueryRow(ctx, `SELECT t.id, t.last_used_at, u.id, u.username, u.role, u.disabled, u.created_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash=$1 AND t.revoked_at IS NULL AND NOT u.disabled`, tokenHash(tok)).
		Scan(&id, &last, &u.ID, &u.Username, &u.Role, &u.Disabled, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNoSession
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: token: %w", err)
	}
	if last == nil || time.Since(*last) > time.Minute {
		if _, err := s.db.Exec(ctx, `UPDATE api_tokens SET last_used_at = now() WHERE id = $1`, id); err != nil {
			return User{}, fmt.Errorf("auth: token: %w", err)
		}
	}
	return u, nil
}

// RevokeAPIToken revokes a token by id.
func (s *Store) RevokeAPIToken(ctx context.Context, id int64) error {
	tag, err := s.db.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE id=$1 AND revoked_at IS NULL`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrTokenNotFound
	}
	return nil
}

// ListAPITokens lists every token (without secrets).
func (s *Store) ListAPITokens(ctx context.Context) ([]APIToken, error) {
	rows, err := s.db.Query(ctx, `SELECT t.id, u.username, t.name, t.created_at, t.last_used_at, t.revoked_at
		FROM api_tokens t JOIN users u ON u.id=t.user_id ORDER BY t.id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (APIToken, error) {
		var t APIToken
		err := r.Scan(&t.ID, &t.Username, &t.Name, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt)
		return t, err
	})
}
