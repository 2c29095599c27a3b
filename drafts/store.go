// Package drafts is radraft's domain: studies and their drafting state,
// orders, reports and their versions, signing, QA flags, kept in Postgres
// (the audit log is package audit's; rows are written in the same
// transactions). It knows nothing of DICOM, HL7 or HTTP: the
// transports call it, it never calls them.
package drafts

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/radraft/radraft/internal/pgexec"
	"github.com/radraft/radraft/migrations"
)

// Store is the Postgres-backed domain store. It is safe for concurrent use.
// Its methods run on db, an executor: the pool, or a caller's transaction
// (InTx), so changes of several stores can commit together.
type Store struct {
	db   pgexec.Executor
	pool *pgxpool.Pool // the connections: closing, pinging, River, migrations, node locks
	// River enqueues jobs (insert only); InsertTx puts a job in the same
	// transaction as the state change that calls for it.
	River *river.Client[pgx.Tx]
	// SR says which DICOM SR results to queue (see outbox_sr.go); zero = none.
	SR SROutbox
}

// Open connects to Postgres and, when migrate is true, brings the schema up
// to date before returning.
func Open(ctx context.Context, databaseURL string, migrate bool) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("drafts: database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("drafts: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("drafts: connect to %s: %w", redactURL(cfg), err)
	}
	if migrate {
		if _, err := migrations.Apply(ctx, pool); err != nil {
			pool.Close()
			return nil, err
		}
	}
	s := &Store{db: pool, pool: pool}
	if s.River, err = newInsertOnlyClient(s); err != nil {
		pool.Close()
		return nil, fmt.Errorf("drafts: job queue: %w", err)
	}
	return s, nil
}

// Close releases the connection pool.
func (s *Store) Close() { s.pool.Close() }

// DB is the store's database handle, for the store packages that share it
// (auth, audit, qa) and for tests that check rows with raw SQL. It cannot
// close the pool.
func (s *Store) DB() pgexec.Executor { return s.db }

// InTx runs fn with a view of the store whose methods run in one
// transaction (a savepoint inside one already open), committed when fn
// returns nil; tx lets other stores (auth, audit, qa) join it.
func (s *Store) InTx(ctx context.Context, fn func(st *Store, tx pgx.Tx) error) error {
	return pgexec.InTx(ctx, s.db, func(tx pgx.Tx) error {
		view := *s
		view.db = tx
		return fn(&view, tx)
	})
}

// RiverDriver is River's driver on the store's pool, for the process that
// works jobs (cmd/radraft serve, workflow tests).
func (s *Store) RiverDriver() riverdriver.Driver[pgx.Tx] { return riverpgxv5.New(s.pool) }

// Migrate brings the schema up to date and returns the migrations it applied.
func (s *Store) Migrate(ctx context.Context) ([]string, error) { return migrations.Apply(ctx, s.pool) }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// redactURL names the database without its password, for error messages.
func redactURL(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("postgres://%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// Unstorable reports whether err is the database refusing the data itself
// (SQLSTATE class 22, data exception: a NUL in text, an invalid byte
// sequence, a value out of range), which no retry of the same data can fix,
// as opposed to the database being unreachable or busy.
func Unstorable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22")
}
