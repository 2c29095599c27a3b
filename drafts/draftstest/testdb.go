// Package draftstest gives tests a fresh, migrated Postgres database of their
// own, dropped when the test ends. The server it creates databases on comes
// from RADRAFT_TEST_DATABASE_URL (default postgres://127.0.0.1:5432/postgres);
// scripts/test.sh exports it, starting a throwaway cluster when none answers.
package draftstest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/drafts"
)

// AdminURL is the server tests create their databases on.
func AdminURL() string {
	if u := os.Getenv("RADRAFT_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://127.0.0.1:5432/postgres?sslmode=disable"
}

// NewDatabase creates an empty database and returns its URL; it is dropped
// when t ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := AdminURL()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("draftstest: no Postgres at %s (run tests through scripts/test.sh): %v", admin, err)
	}
	defer conn.Close(ctx)
	name := "radraft_test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("draftstest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("draftstest: admin URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// New returns a store on a fresh, migrated database.
func New(t testing.TB) *drafts.Store {
	t.Helper()
	dbURL := NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := drafts.Open(ctx, dbURL, true)
	if err != nil {
		t.Fatalf("draftstest: open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// MustExec runs SQL for test setup.
func MustExec(t testing.TB, s *drafts.Store, sql string, args ...any) {
	t.Helper()
	if _, err := s.DB().Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("draftstest: %s: %v", firstLine(sql), err)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return fmt.Sprint(s)
}
