// Package pgexec is the one database handle the store packages (drafts,
// auth, audit, qa) share: an Executor is a pool or a transaction, so the
// same code runs alone or inside a caller's transaction (River's driver
// executor is the model). It owns no SQL of its own.
package pgexec

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Executor runs SQL: *pgxpool.Pool and pgx.Tx both satisfy it. Begin on a
// transaction starts a savepoint.
type Executor interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// InTx runs fn in one transaction on ex (a savepoint when ex is already a
// transaction): committed when fn returns nil, rolled back otherwise.
func InTx(ctx context.Context, ex Executor, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, ex, fn)
}
