package drafts_test

import (
	"context"
	"testing"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/migrations"
)

func TestMigrationsAreIdempotent(t *testing.T) {
	s := draftstest.New(t)
	applied, err := migrations.Apply(context.Background(), s.Pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Fatalf("second Apply re-ran %v", applied)
	}
	var n int
	if err := s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job`).Scan(&n); err != nil {
		t.Fatalf("river tables missing: %v", err)
	}
}

func TestAuditKeepsReferencesOnly(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	if err := s.Audit(ctx, drafts.AuditEntry{Actor: "alice", Action: "study.view", StudyUID: "1.2.3"}); err != nil {
		t.Fatal(err)
	}
	var actor, action, study string
	if err := s.Pool.QueryRow(ctx, `SELECT actor, action, study_uid FROM audit_log`).Scan(&actor, &action, &study); err != nil {
		t.Fatal(err)
	}
	if actor != "alice" || action != "study.view" || study != "1.2.3" {
		t.Fatalf("got %q %q %q", actor, action, study)
	}
}
