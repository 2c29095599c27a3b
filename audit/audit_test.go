package audit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/audit"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/internal/pgexec"
)

func TestAuditKeepsReferencesOnly(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	log := audit.New(s.DB())
	if err := log.Append(ctx, audit.Entry{Actor: "alice", Action: "study.view", StudyUID: "1.2.3"}); err != nil {
		t.Fatal(err)
	}
	if err := log.Append(ctx, audit.Entry{Actor: "bob", Action: "auth.login", Detail: map[string]any{"n": 1}}); err != nil {
		t.Fatal(err)
	}
	rows, err := log.Read(ctx, audit.Query{Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Action != "study.view" || rows[0].StudyUID == nil || *rows[0].StudyUID != "1.2.3" ||
		string(rows[0].Detail) != "{}" {
		t.Fatalf("got %+v", rows)
	}
	all, err := log.Read(ctx, audit.Query{})
	if err != nil || len(all) != 2 || all[0].Actor != "bob" || all[1].StudyUID == nil || all[0].StudyUID != nil {
		t.Fatalf("newest first, empty study NULL: %+v %v", all, err)
	}
}

// An entry written in a transaction goes with it: rolled back, no row.
func TestWriteInTransaction(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := pgexec.InTx(ctx, s.DB(), func(tx pgx.Tx) error {
		if err := audit.Write(ctx, tx, audit.Entry{Actor: "alice", Action: "report.edit"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	rows, err := audit.New(s.DB()).Read(ctx, audit.Query{})
	if err != nil || len(rows) != 0 {
		t.Fatalf("rolled-back entry kept: %+v %v", rows, err)
	}
}
