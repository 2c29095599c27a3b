package drafts_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/audit"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
)

// InTx: the store's changes and another store's rows (here the audit log)
// commit or roll back together.
func TestInTxCommitsWithOtherStores(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	draftstest.MustExec(t, s, `INSERT INTO studies (study_uid, state) VALUES ('1.2.9', 'receiving')`)
	state := func() (reason string, audits int) {
		t.Helper()
		if err := s.DB().QueryRow(ctx, `SELECT COALESCE(state_reason, ''), (SELECT count(*) FROM audit_log WHERE action = 'test.intx')
			FROM studies WHERE study_uid = '1.2.9'`).Scan(&reason, &audits); err != nil {
			t.Fatal(err)
		}
		return reason, audits
	}
	write := func(st *drafts.Store, tx pgx.Tx, reason string) error {
		if err := st.SetStudyReason(ctx, "1.2.9", reason); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{Actor: "test", Action: "test.intx", StudyUID: "1.2.9"})
	}
	boom := errors.New("roll back")
	err := s.InTx(ctx, func(st *drafts.Store, tx pgx.Tx) error {
		if err := write(st, tx, "inside"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v", err)
	}
	if r, n := state(); r != "" || n != 0 {
		t.Fatalf("after rollback: reason %q, %d audit rows", r, n)
	}
	if err := s.InTx(ctx, func(st *drafts.Store, tx pgx.Tx) error { return write(st, tx, "committed") }); err != nil {
		t.Fatal(err)
	}
	if r, n := state(); r != "committed" || n != 1 {
		t.Fatalf("after commit: reason %q, %d audit rows", r, n)
	}
}
