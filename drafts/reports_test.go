package drafts_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
)

// Concurrent edits against the same version: exactly one wins, the others
// get a VersionConflictError carrying the winner's text; no version is lost
// or overwritten.
func TestConcurrentEditsOneWins(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	draftstest.MustExec(t, s, `INSERT INTO studies (study_uid, state) VALUES ('9.9.1', 'ready')`)
	if _, _, err := s.SaveAIDraft(ctx, drafts.AIDraft{StudyUID: "9.9.1", Findings: "AI text."}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = s.EditReport(ctx, drafts.ReportChange{StudyUID: "9.9.1", IfVersion: 1,
				Findings: fmt.Sprintf("Edit %d.", i), Actor: fmt.Sprintf("r%d", i)})
		}(i)
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		var conflict *drafts.VersionConflictError
		switch {
		case err == nil:
			if won >= 0 {
				t.Fatalf("two edits of version 1 won: %d and %d", won, i)
			}
			won = i
		case errors.As(err, &conflict):
			if conflict.Current.CurrentVersion != 2 {
				t.Fatalf("conflict shows version %d", conflict.Current.CurrentVersion)
			}
		default:
			t.Fatal(err)
		}
	}
	r, err := s.ReportForStudy(ctx, "9.9.1")
	if err != nil {
		t.Fatal(err)
	}
	if won < 0 || len(r.Versions) != 2 || r.Current().Findings != fmt.Sprintf("Edit %d.", won) {
		t.Fatalf("winner %d, versions %d, current %q", won, len(r.Versions), r.Current().Findings)
	}

	// Sign, then every change but an amendment is refused and the signed
	// version stays as it was.
	if _, err := s.SignReport(ctx, drafts.ReportChange{StudyUID: "9.9.1", IfVersion: 2, Actor: "r"}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EditReport(ctx, drafts.ReportChange{StudyUID: "9.9.1", IfVersion: 3, Findings: "x", Actor: "r"}); !errors.Is(err, drafts.ErrReportSigned) {
		t.Fatalf("edit of signed: %v", err)
	}
	if _, _, err := s.SaveAIDraft(ctx, drafts.AIDraft{StudyUID: "9.9.1", Findings: "new AI"}); !errors.Is(err, drafts.ErrReportSigned) {
		t.Fatalf("AI draft over signed: %v", err)
	}
	if _, err := s.RequestRedraft(ctx, "9.9.1", "r", ""); !errors.Is(err, drafts.ErrReportSigned) {
		t.Fatalf("redraft of signed: %v", err)
	}
	r, _ = s.ReportForStudy(ctx, "9.9.1")
	if r.Status != drafts.ReportSigned || *r.SignedVersion != 3 || r.Current().Findings != fmt.Sprintf("Edit %d.", won) {
		t.Fatalf("signed report: %+v", r)
	}
	var wl string
	s.DB().QueryRow(ctx, `SELECT worklist_status FROM studies WHERE study_uid='9.9.1'`).Scan(&wl) //nolint:errcheck
	if wl != "signed" {
		t.Fatalf("worklist_status %q", wl)
	}
}
