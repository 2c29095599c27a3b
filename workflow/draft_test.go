package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/inference"
	"github.com/radraft/radraft/workflow"
)

type fakeDrafter struct {
	err   error
	calls int
	path  string
	ind   string
}

func (f *fakeDrafter) Draft(ctx context.Context, path, indication string) (*inference.Draft, error) {
	f.calls++
	f.path, f.ind = path, indication
	if f.err != nil {
		return nil, f.err
	}
	return &inference.Draft{Findings: "Lungs are clear.", Prompt: "USER: <image>\n...", Tokens: []int64{5, 6}, Stop: "eos",
		Model:   inference.Info{Name: "demo", Version: "0.1", Demo: true, Device: "cpu"},
		Timings: inference.StageTimings{Tokens: 2, TotalMS: 10}}, nil
}

func seed(t *testing.T, s *drafts.Store, uid string, frontal bool, settledAgo time.Duration) {
	t.Helper()
	f := any(nil)
	if frontal {
		f = uid + ".1.1"
	}
	draftstest.MustExec(t, s, `INSERT INTO studies (study_uid, state, settled_at, frontal_sop_instance_uid, dicom_indication, dicom_indication_source)
		VALUES ($1, 'ready', now() - $2::interval, $3, 'fever', 'dicom:(0040,1002)')`, uid, fmt.Sprintf("%d seconds", int(settledAgo.Seconds())), f)
	draftstest.MustExec(t, s, `INSERT INTO series (series_uid, study_uid) VALUES ($1 || '.1', $1)`, uid)
	draftstest.MustExec(t, s, `INSERT INTO instances (sop_instance_uid, sop_class_uid, series_uid, study_uid, transfer_syntax_uid, path, file_size, dataset_size, sha256)
		VALUES ($1 || '.1.1', '1.2.840.10008.5.1.4.1.1.1', $1 || '.1', $1, '1.2.840.10008.1.2.1', 'x/' || $1 || '.dcm', 1, 1, 'h')`, uid)
}

func job(uid, reason string, attempt int) *river.Job[drafts.DraftStudyArgs] {
	return &river.Job[drafts.DraftStudyArgs]{
		JobRow: &rivertype.JobRow{ID: 7, Attempt: attempt, MaxAttempts: 5, CreatedAt: time.Now()},
		Args:   drafts.DraftStudyArgs{StudyUID: uid, Reason: reason},
	}
}

func studyState(t *testing.T, s *drafts.Store, uid string) (string, string) {
	t.Helper()
	var st, r string
	if err := s.DB().QueryRow(context.Background(), `SELECT state, state_reason FROM studies WHERE study_uid=$1`, uid).Scan(&st, &r); err != nil {
		t.Fatal(err)
	}
	return st, r
}

func TestWorker(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	fd := &fakeDrafter{}
	noOrder := func(ctx context.Context, uid string) (workflow.Indication, error) {
		return workflow.Indication{Text: "fever", Source: "dicom:(0040,1002)"}, nil
	}
	w := &workflow.DraftWorker{Store: s, Drafter: fd, Indication: noOrder, StorageDir: "/data", OrderWait: time.Minute}

	// Settled just now and no order: it waits.
	seed(t, s, "1.1", true, 0)
	err := w.Work(ctx, job("1.1", "settled", 1))
	var snooze *river.JobSnoozeError
	if !errors.As(err, &snooze) || snooze.Duration <= 50*time.Second || snooze.Duration > time.Minute {
		t.Fatalf("want a snooze of about a minute, got %v", err)
	}
	if st, r := studyState(t, s, "1.1"); st != "ready" || !strings.Contains(r, "waiting for the HL7 order") {
		t.Fatalf("state %s %q", st, r)
	}
	// Past the wait: drafted without an order, with the DICOM indication.
	w.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	if err := w.Work(ctx, job("1.1", "settled", 1)); err != nil {
		t.Fatal(err)
	}
	if fd.path != "/data/x/1.1.dcm" || fd.ind != "fever" {
		t.Fatalf("drafter got %q %q", fd.path, fd.ind)
	}
	var findings, src, timings string
	if err := s.DB().QueryRow(ctx, `SELECT v.findings, v.indication_source, v.timings->>'demo' FROM reports r JOIN report_versions v ON v.report_id=r.id
		WHERE r.study_uid='1.1' AND v.version=1`).Scan(&findings, &src, &timings); err != nil {
		t.Fatal(err)
	}
	if findings != "Lungs are clear." || src != "dicom:(0040,1002)" || timings != "true" {
		t.Fatalf("stored %q %q %q", findings, src, timings)
	}
	if st, _ := studyState(t, s, "1.1"); st != "drafted" {
		t.Fatalf("state %s", st)
	}
	// A duplicate "settled" job does nothing; an order arriving re-drafts.
	calls := fd.calls
	if err := w.Work(ctx, job("1.1", "settled", 1)); err != nil || fd.calls != calls {
		t.Fatalf("duplicate: %v, %d calls", err, fd.calls-calls)
	}
	w.Indication = func(ctx context.Context, uid string) (workflow.Indication, error) {
		return workflow.Indication{Text: "cough", Source: "hl7:OBR-31", HasOrder: true}, nil
	}
	w.Now = nil
	if err := w.Work(ctx, job("1.1", "order_arrived", 1)); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := s.DB().QueryRow(ctx, `SELECT ai_version FROM reports WHERE study_uid='1.1'`).Scan(&v); err != nil || v != 2 || fd.ind != "cough" {
		t.Fatalf("re-draft: v%d %v %q", v, err, fd.ind)
	}

	// No frontal image: recorded, cancelled.
	seed(t, s, "1.2", false, time.Hour)
	err = w.Work(ctx, job("1.2", "settled", 1))
	var cancel *river.JobCancelError
	if !errors.As(err, &cancel) {
		t.Fatalf("no frontal: %v", err)
	}
	if st, r := studyState(t, s, "1.2"); st != "draft_failed" || r != "no frontal image in the study" {
		t.Fatalf("state %s %q", st, r)
	}

	// Undecodable pixels: permanent.
	seed(t, s, "1.3", true, time.Hour)
	fd.err = fmt.Errorf("%w: %w", inference.ErrNotDecodable, errors.New("unsupported transfer syntax"))
	if err := w.Work(ctx, job("1.3", "settled", 1)); !errors.As(err, &cancel) {
		t.Fatalf("undecodable: %v", err)
	}
	if st, r := studyState(t, s, "1.3"); st != "draft_failed" || r != "pixels not decodable: unsupported transfer syntax" {
		t.Fatalf("state %s %q", st, r)
	}

	// A transient failure is retried; the last attempt records it.
	seed(t, s, "1.4", true, time.Hour)
	fd.err = errors.New("disk hiccup")
	if err := w.Work(ctx, job("1.4", "settled", 2)); err == nil || errors.As(err, &cancel) {
		t.Fatalf("transient: %v", err)
	}
	if st, r := studyState(t, s, "1.4"); st != "ready" || !strings.Contains(r, "will retry") {
		t.Fatalf("state %s %q", st, r)
	}
	if err := w.Work(ctx, job("1.4", "settled", 5)); err == nil {
		t.Fatal("last attempt succeeded")
	}
	if st, r := studyState(t, s, "1.4"); st != "draft_failed" || r != "drafting failed after 5 attempts: disk hiccup" {
		t.Fatalf("state %s %q", st, r)
	}
}

// An order that lands while a draft is being made changes the indication;
// the running job cannot be re-queued (unique per study), so it snoozes
// itself once and re-drafts with the new indication.
func TestWorkerRedraftsWhenOrderArrivesWhileDrafting(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	fd := &fakeDrafter{}
	calls := 0
	changing := func(ctx context.Context, uid string) (workflow.Indication, error) {
		calls++
		if calls == 1 {
			return workflow.Indication{Text: "fever", Source: "dicom:(0040,1002)"}, nil
		}
		return workflow.Indication{Text: "Shortness of breath", Source: "hl7:OBR-31", HasOrder: true}, nil
	}
	w := &workflow.DraftWorker{Store: s, Drafter: fd, Indication: changing, StorageDir: "/data"}
	seed(t, s, "3.1", true, time.Hour)

	err := w.Work(ctx, job("3.1", "settled", 1))
	var snooze *river.JobSnoozeError
	if !errors.As(err, &snooze) {
		t.Fatalf("want a snooze after the indication changed mid-draft, got %v", err)
	}
	if fd.ind != "fever" {
		t.Fatalf("first draft used %q", fd.ind)
	}
	if err := w.Work(ctx, job("3.1", "settled", 1)); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if fd.calls != 2 || fd.ind != "Shortness of breath" {
		t.Fatalf("want a re-draft with the order's indication, got %d calls, last %q", fd.calls, fd.ind)
	}
	var v int
	var ind string
	if err := s.DB().QueryRow(ctx, `SELECT v.version, v.indication FROM reports r JOIN report_versions v ON v.report_id=r.id AND v.version=r.ai_version WHERE r.study_uid='3.1'`).Scan(&v, &ind); err != nil {
		t.Fatal(err)
	}
	if v != 2 || ind != "Shortness of breath" {
		t.Fatalf("AI version %d with %q, want 2 with the order's indication", v, ind)
	}
	// A third run has nothing new to do.
	if err := w.Work(ctx, job("3.1", "settled", 1)); err != nil || fd.calls != 2 {
		t.Fatalf("third run drafted again (calls %d, err %v)", fd.calls, err)
	}
}

// A study whose only order the RIS cancelled is not drafted, unless a
// person asks for a draft.
func TestWorkerSkipsCancelledOrder(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	fd := &fakeDrafter{}
	cancelled := func(ctx context.Context, uid string) (workflow.Indication, error) {
		return workflow.Indication{OrderCancelled: true}, nil
	}
	w := &workflow.DraftWorker{Store: s, Drafter: fd, Indication: cancelled, StorageDir: "/data", OrderWait: time.Minute}
	seed(t, s, "2.1", true, time.Hour)
	var cancel *river.JobCancelError
	if err := w.Work(ctx, job("2.1", "settled", 1)); !errors.As(err, &cancel) || fd.calls != 0 {
		t.Fatalf("cancelled order: %v, %d drafter calls", err, fd.calls)
	}
	if st, r := studyState(t, s, "2.1"); st != "draft_failed" || !strings.Contains(r, "cancelled the order") {
		t.Fatalf("state %s %q", st, r)
	}
	if err := w.Work(ctx, job("2.1", "requested", 1)); err != nil || fd.calls != 1 {
		t.Fatalf("requested draft: %v, %d drafter calls", err, fd.calls)
	}
}
