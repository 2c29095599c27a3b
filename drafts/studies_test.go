package drafts_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/ingest"
)

func indexTestInstance(t *testing.T, s *drafts.Store, study, sop, viewPosition string) {
	t.Helper()
	err := s.IndexInstance(context.Background(), &ingest.ReceivedInstance{
		StudyUID: study, SeriesUID: study + ".1", SOPInstanceUID: sop,
		SOPClassUID: "1.2.840.10008.5.1.4.1.1.1", TransferSyntaxUID: "1.2.840.10008.1.2.1",
		Path: study + "/" + sop + ".dcm", FileSize: 100, DatasetSize: 90, SHA256: "x" + sop,
		ViewPosition: viewPosition, Rows: 10, Columns: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// backdate makes a study look quiet for d.
func backdate(t *testing.T, s *drafts.Store, study string, d time.Duration) {
	draftstest.MustExec(t, s, `UPDATE studies SET last_received_at = now() - make_interval(secs => $2) WHERE study_uid = $1`,
		study, d.Seconds())
}

func studyState(t *testing.T, s *drafts.Store, study string) (state, frontal, reason string) {
	t.Helper()
	var f *string
	if err := s.DB().QueryRow(context.Background(), `SELECT state, frontal_sop_instance_uid, view_reason FROM studies WHERE study_uid = $1`,
		study).Scan(&state, &f, &reason); err != nil {
		t.Fatal(err)
	}
	if f != nil {
		frontal = *f
	}
	return
}

func countDraftJobs(t *testing.T, s *drafts.Store, study string) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'draft_study' AND args->>'study_uid' = $1`,
		study).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// firstFrontal picks the first instance with View Position PA or AP.
func firstFrontal(_ context.Context, st *ingest.SettlingStudy) (ingest.ViewDecision, error) {
	for _, in := range st.Instances {
		if in.ViewPosition == "PA" || in.ViewPosition == "AP" {
			return ingest.ViewDecision{FrontalSOP: in.SOPInstanceUID, Reason: "View Position " + in.ViewPosition}, nil
		}
	}
	return ingest.ViewDecision{Reason: "no frontal"}, nil
}

func TestSettleNextWaitsForQuiet(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	const quiet = time.Minute
	indexTestInstance(t, s, "1.2.3", "1.2.3.1.1", "LL")
	if res, err := s.SettleNext(ctx, quiet, nil, firstFrontal); err != nil || res != nil {
		t.Fatalf("settled a study received just now: %+v %v", res, err)
	}
	backdate(t, s, "1.2.3", 50*time.Second)
	if res, err := s.SettleNext(ctx, quiet, nil, firstFrontal); err != nil || res != nil {
		t.Fatalf("settled before the quiet period: %+v %v", res, err)
	}
	// A second instance: still not due once the first would have been.
	indexTestInstance(t, s, "1.2.3", "1.2.3.1.2", "PA")
	backdate(t, s, "1.2.3", 30*time.Second)
	if res, err := s.SettleNext(ctx, quiet, nil, firstFrontal); err != nil || res != nil {
		t.Fatalf("settled before the quiet period after a new instance: %+v %v", res, err)
	}
	backdate(t, s, "1.2.3", 61*time.Second)
	res, err := s.SettleNext(ctx, quiet, nil, firstFrontal)
	if err != nil || res == nil {
		t.Fatalf("quiet study not settled: %v", err)
	}
	if res.State != drafts.StateReady || res.FrontalSOP != "1.2.3.1.2" || !res.JobInserted {
		t.Fatalf("settled %+v", res)
	}
	if st, fr, why := studyState(t, s, "1.2.3"); st != "ready" || fr != "1.2.3.1.2" || why != "View Position PA" {
		t.Fatalf("study %s %s %q", st, fr, why)
	}
	if n := countDraftJobs(t, s, "1.2.3"); n != 1 {
		t.Fatalf("%d draft_study jobs, want 1", n)
	}
	var queue, reason string
	if err := s.DB().QueryRow(ctx, `SELECT queue, args->>'reason' FROM river_job WHERE kind = 'draft_study'`).Scan(&queue, &reason); err != nil {
		t.Fatal(err)
	}
	if queue != drafts.QueueInference || reason != "settled" {
		t.Fatalf("job queue %q reason %q", queue, reason)
	}
	// Nothing more to do.
	if res, err := s.SettleNext(ctx, quiet, nil, firstFrontal); err != nil || res != nil {
		t.Fatalf("settled twice: %+v %v", res, err)
	}

	// A late instance sends it back to receiving; settling again keeps one
	// pending job (unique per study).
	indexTestInstance(t, s, "1.2.3", "1.2.3.1.3", "AP")
	if st, _, _ := studyState(t, s, "1.2.3"); st != "receiving" {
		t.Fatalf("late instance left the study %s", st)
	}
	backdate(t, s, "1.2.3", 61*time.Second)
	res, err = s.SettleNext(ctx, quiet, nil, firstFrontal)
	if err != nil || res == nil || res.State != "ready" || res.JobInserted {
		t.Fatalf("resettle: %+v %v", res, err)
	}
	if n := countDraftJobs(t, s, "1.2.3"); n != 1 {
		t.Fatalf("%d draft_study jobs after resettling, want 1", n)
	}
}

func TestNeedsViewThenChooseFrontal(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	indexTestInstance(t, s, "1.2.4", "1.2.4.1.1", "LL")
	indexTestInstance(t, s, "1.2.9", "1.2.9.1.1", "PA")
	// Not settled yet: no view decision possible.
	if err := s.ChooseFrontal(ctx, "1.2.4", "1.2.4.1.1", "alice", ""); !errors.Is(err, drafts.ErrStudyState) {
		t.Fatalf("choose while receiving: %v", err)
	}
	backdate(t, s, "1.2.4", time.Hour)
	res, err := s.SettleNext(ctx, time.Second, nil, firstFrontal)
	if err != nil || res == nil || res.State != drafts.StateNeedsView || res.JobInserted {
		t.Fatalf("settle: %+v %v", res, err)
	}
	if st, fr, why := studyState(t, s, "1.2.4"); st != "needs_view" || fr != "" || why != "no frontal" {
		t.Fatalf("study %s %q %q", st, fr, why)
	}
	if n := countDraftJobs(t, s, "1.2.4"); n != 0 {
		t.Fatalf("needs_view queued %d drafts", n)
	}
	if err := s.ChooseFrontal(ctx, "1.2.4", "1.2.9.1.1", "alice", ""); !errors.Is(err, drafts.ErrInstanceNotInStudy) {
		t.Fatalf("choose another study's instance: %v", err)
	}
	if err := s.ChooseFrontal(ctx, "9.9", "1.2.9.1.1", "alice", ""); !errors.Is(err, drafts.ErrStudyNotFound) {
		t.Fatalf("choose in a missing study: %v", err)
	}
	// A dose SR of the same study has no pixels to draft from.
	draftstest.MustExec(t, s, `INSERT INTO instances (sop_instance_uid, sop_class_uid, series_uid, study_uid,
		transfer_syntax_uid, path, file_size, dataset_size, sha256)
		VALUES ('1.2.4.1.9', '1.2.840.10008.5.1.4.1.1.88.67', '1.2.4.1', '1.2.4', '1.2.840.10008.1.2.1', 'sr.dcm', 1, 1, 'sr')`)
	if err := s.ChooseFrontal(ctx, "1.2.4", "1.2.4.1.9", "alice", ""); !errors.Is(err, drafts.ErrNotAnImage) {
		t.Fatalf("choose an SR: %v", err)
	}
	// The lateral is an image: a person may pick it (the classifier did not).
	if err := s.ChooseFrontal(ctx, "1.2.4", "1.2.4.1.1", "alice", "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if st, fr, why := studyState(t, s, "1.2.4"); st != "ready" || fr != "1.2.4.1.1" || why != "chosen by alice" {
		t.Fatalf("study %s %q %q", st, fr, why)
	}
	if n := countDraftJobs(t, s, "1.2.4"); n != 1 {
		t.Fatalf("%d draft_study jobs, want 1", n)
	}
	var actor, ref string
	if err := s.DB().QueryRow(ctx, `SELECT actor, object_ref FROM audit_log WHERE action = 'study.choose_frontal'`).Scan(&actor, &ref); err != nil {
		t.Fatal(err)
	}
	if actor != "alice" || ref != "1.2.4.1.1" {
		t.Fatalf("audit %q %q", actor, ref)
	}
	// Drafting in progress: no change of image under the worker's feet.
	draftstest.MustExec(t, s, `UPDATE studies SET state = 'drafting' WHERE study_uid = '1.2.4'`)
	if err := s.ChooseFrontal(ctx, "1.2.4", "1.2.4.1.1", "alice", ""); !errors.Is(err, drafts.ErrStudyState) {
		t.Fatalf("choose while drafting: %v", err)
	}
}

// TestSettleConcurrent runs several settlers on the same due studies: each
// study is settled exactly once (FOR UPDATE SKIP LOCKED).
func TestSettleConcurrent(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	const n = 20
	for i := range n {
		study := fmt.Sprintf("1.2.5.%d", i+1)
		indexTestInstance(t, s, study, study+".1.1", "PA")
	}
	draftstest.MustExec(t, s, `UPDATE studies SET last_received_at = now() - interval '1 hour'`)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				res, err := s.SettleNext(ctx, time.Second, nil, func(ctx context.Context, st *ingest.SettlingStudy) (ingest.ViewDecision, error) {
					time.Sleep(5 * time.Millisecond) // hold the lock a while
					return firstFrontal(ctx, st)
				})
				if err != nil {
					t.Error(err)
					return
				}
				if res == nil {
					return
				}
				mu.Lock()
				seen[res.StudyUID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("settled %d studies, want %d", len(seen), n)
	}
	for study, c := range seen {
		if c != 1 {
			t.Errorf("%s settled %d times", study, c)
		}
	}
	var jobs, audits int
	s.DB().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'draft_study'`).Scan(&jobs)      //nolint:errcheck
	s.DB().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'study.settle'`).Scan(&audits) //nolint:errcheck
	if jobs != n || audits != n {
		t.Fatalf("%d jobs, %d audit rows, want %d", jobs, audits, n)
	}
}

// TestSettleRejectsForeignFrontal: a decision naming an instance outside the
// study changes nothing.
func TestSettleRejectsForeignFrontal(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	indexTestInstance(t, s, "1.2.6", "1.2.6.1.1", "PA")
	backdate(t, s, "1.2.6", time.Hour)
	_, err := s.SettleNext(ctx, time.Second, nil, func(context.Context, *ingest.SettlingStudy) (ingest.ViewDecision, error) {
		return ingest.ViewDecision{FrontalSOP: "7.7.7", Reason: "bogus"}, nil
	})
	var se *ingest.SettleError
	if !errors.Is(err, drafts.ErrInstanceNotInStudy) || !errors.As(err, &se) || se.StudyUID != "1.2.6" {
		t.Fatalf("err %v", err)
	}
	if st, _, _ := studyState(t, s, "1.2.6"); st != "receiving" {
		t.Fatalf("state %s after a rejected decision", st)
	}
	// A caller skipping the failing study gets the next one.
	indexTestInstance(t, s, "1.2.7", "1.2.7.1.1", "PA")
	backdate(t, s, "1.2.7", time.Minute)
	res, err := s.SettleNext(ctx, time.Second, []string{"1.2.6"}, firstFrontal)
	if err != nil || res == nil || res.StudyUID != "1.2.7" {
		t.Fatalf("skip: %+v %v", res, err)
	}
}
