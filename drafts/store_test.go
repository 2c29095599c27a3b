package drafts_test

import (
	"context"
	"testing"

	"github.com/radraft/radraft/drafts/draftstest"
)

func TestMigrationsAreIdempotent(t *testing.T) {
	s := draftstest.New(t)
	applied, err := s.Migrate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Fatalf("second Apply re-ran %v", applied)
	}
	var n int
	if err := s.DB().QueryRow(context.Background(), `SELECT count(*) FROM river_job`).Scan(&n); err != nil {
		t.Fatalf("river tables missing: %v", err)
	}
}
