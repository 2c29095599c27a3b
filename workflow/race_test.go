package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/inference"
	"github.com/radraft/radraft/workflow"
)

// pathDrafter fails on the undecodable copy and drafts from any other file
// at once: the race is in the study's state and its jobs, not in the model.
type pathDrafter struct{}

func (pathDrafter) Draft(ctx context.Context, path, ind string) (*inference.Draft, error) {
	if strings.Contains(path, "undecodable") {
		return nil, fmt.Errorf("%w: JPEG 2000 codestream damaged", inference.ErrNotDecodable)
	}
	return &inference.Draft{Findings: "Lungs are clear.", Prompt: "p", Model: inference.Info{Name: "m", Version: "1"}}, nil
}

// TestRedraftThenFrontalRace is issue 11's race: on a draft_failed study,
// POST …/report/redraft and then POST …/frontal within milliseconds, while a
// real River client works the draft queue. Before draft generations this
// left the study ready with no job (2 of 4 tries): the frontal choice's
// job was skipped as a duplicate of the re-draft's, which had finished but
// was still marked running. Each of the 50 rounds must end drafted from the
// chosen image, with no draft job left.
func TestRedraftThenFrontalRace(t *testing.T) {
	s := draftstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	workers := river.NewWorkers()
	river.AddWorker(workers, &workflow.DraftWorker{Store: s, Drafter: pathDrafter{}, StorageDir: "/data",
		Indication: func(ctx context.Context, uid string) (workflow.Indication, error) {
			return workflow.Indication{Text: "cough", Source: "order", HasOrder: true}, nil
		}})
	rc, err := river.NewClient(s.RiverDriver(), &river.Config{Workers: workers,
		Queues:        map[string]river.QueueConfig{drafts.QueueInference: {MaxWorkers: 4}},
		FetchCooldown: 2 * time.Millisecond, FetchPollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer rc.Stop(context.Background()) //nolint:errcheck

	const rounds = 50
	for i := range rounds {
		uid := fmt.Sprintf("5.%d", i+1)
		good := seedDraftFailed(t, s, uid)
		var wg sync.WaitGroup
		var redraftErr, frontalErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, redraftErr = s.RequestRedraft(ctx, uid, "alice", "")
		}()
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
			// A 409 (the re-draft is running) is what the person sees;
			// they try again, as the UI lets them.
			for {
				frontalErr = s.ChooseFrontal(ctx, uid, good, "alice", "")
				if !errors.Is(frontalErr, drafts.ErrStudyState) || ctx.Err() != nil {
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
		wg.Wait()
		if redraftErr != nil || frontalErr != nil {
			t.Fatalf("round %d: redraft %v, frontal %v", i, redraftErr, frontalErr)
		}
		state, frontal := waitQuiet(ctx, t, s, uid)
		if state != "drafted" || frontal != good {
			var jobs int
			_ = s.DB().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE args->>'study_uid' = $1`, uid).Scan(&jobs)
			t.Fatalf("round %d: study ended %s with frontal %q and no draft job left (%d jobs ever); want drafted from %s",
				i, state, frontal, jobs, good)
		}
	}
}

// seedDraftFailed makes a study whose drafting failed on an undecodable
// frontal image, with a second, decodable image; it returns that one's UID.
func seedDraftFailed(t *testing.T, s *drafts.Store, uid string) string {
	t.Helper()
	draftstest.MustExec(t, s, `INSERT INTO studies (study_uid, state, state_reason, settled_at, frontal_sop_instance_uid)
		VALUES ($1, 'draft_failed', 'pixels not decodable', now() - interval '1 hour', $1 || '.1.1')`, uid)
	draftstest.MustExec(t, s, `INSERT INTO series (series_uid, study_uid) VALUES ($1 || '.1', $1)`, uid)
	for _, in := range []struct{ sop, path string }{{".1.1", "undecodable"}, {".1.2", "decodable"}} {
		draftstest.MustExec(t, s, `INSERT INTO instances (sop_instance_uid, sop_class_uid, series_uid, study_uid,
			transfer_syntax_uid, path, file_size, dataset_size, sha256, rows_, columns_)
			VALUES ($1 || $2, '1.2.840.10008.5.1.4.1.1.1', $1 || '.1', $1, '1.2.840.10008.1.2.4.90',
				$1 || '/' || $3 || '.dcm', 1, 1, $2, 10, 10)`, uid, in.sop, in.path)
	}
	return uid + ".1.2"
}

// waitQuiet waits until the study has no draft job left to run and returns
// its state and frontal image.
func waitQuiet(ctx context.Context, t *testing.T, s *drafts.Store, uid string) (string, string) {
	t.Helper()
	for {
		var pending int
		var state, frontal string
		err := s.DB().QueryRow(ctx, `SELECT (SELECT count(*) FROM river_job WHERE kind = 'draft_study'
				AND args->>'study_uid' = $1 AND state IN ('available', 'pending', 'running', 'retryable', 'scheduled')),
			state, COALESCE(frontal_sop_instance_uid, '') FROM studies WHERE study_uid = $1`, uid).Scan(&pending, &state, &frontal)
		if err != nil {
			t.Fatal(err)
		}
		if pending == 0 && state != "drafting" {
			return state, frontal
		}
		if ctx.Err() != nil {
			t.Fatalf("study %s still %s with %d draft jobs to run", uid, state, pending)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
