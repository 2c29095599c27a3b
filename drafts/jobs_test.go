package drafts_test

import (
	"context"
	"testing"
	"time"

	"github.com/radraft/radraft/drafts/draftstest"
)

// The start-up sweep takes back only the running jobs this node last
// attempted: retried while attempts are left, else discarded (a draft's
// study then shows the failure); another node's running job is left alone.
func TestRescueOrphanedJobs(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	draftstest.MustExec(t, s, `INSERT INTO studies (study_uid, state) VALUES ('1.2.1', 'drafting'), ('1.2.2', 'drafting'), ('1.2.3', 'drafting')`)
	insert := func(study, node string, attempt, max int) int64 {
		var id int64
		if err := s.DB().QueryRow(ctx, `INSERT INTO river_job (args, kind, max_attempts, queue, state, attempt, attempted_at, attempted_by)
			VALUES (jsonb_build_object('study_uid', $1::text), 'draft_study', $4, 'inference', 'running', $3, now(), ARRAY['old-node', $2])
			RETURNING id`, study, node, attempt, max).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	retried, discarded, other := insert("1.2.1", "n1", 1, 5), insert("1.2.2", "n1", 5, 5), insert("1.2.3", "n2", 1, 5)

	release, err := s.ClaimNodeID(ctx, "n1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	if _, err := s.ClaimNodeID(ctx, "n1", 300*time.Millisecond); err == nil {
		t.Fatal("a second process claimed the same node ID")
	}
	jobs, err := s.RescueOrphanedJobs(ctx, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 {
		t.Fatalf("rescued %+v", jobs)
	}
	state := func(id int64) (st string, errs int) {
		if err := s.DB().QueryRow(ctx, `SELECT state::text, coalesce(cardinality(errors), 0) FROM river_job WHERE id=$1`, id).Scan(&st, &errs); err != nil {
			t.Fatal(err)
		}
		return st, errs
	}
	for _, c := range []struct {
		id   int64
		want string
		errs int
	}{{retried, "available", 1}, {discarded, "discarded", 1}, {other, "running", 0}} {
		if st, errs := state(c.id); st != c.want || errs != c.errs {
			t.Errorf("job %d: %s with %d errors, want %s with %d", c.id, st, errs, c.want, c.errs)
		}
	}
	var study string
	s.DB().QueryRow(ctx, `SELECT state FROM studies WHERE study_uid='1.2.2'`).Scan(&study) //nolint:errcheck
	if study != "draft_failed" {
		t.Errorf("study of the discarded draft: %s", study)
	}
	release()
	released = true
	if r, err := s.ClaimNodeID(ctx, "n1", time.Second); err != nil {
		t.Fatalf("after release: %v", err)
	} else {
		r()
	}
}
