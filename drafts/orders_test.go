package drafts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
)

func addStudy(t *testing.T, s *drafts.Store, uid, accession, dicomIndication, dicomSource string) {
	t.Helper()
	draftstest.MustExec(t, s, `INSERT INTO studies (study_uid, accession_number, dicom_indication, dicom_indication_source, state)
		VALUES ($1, $2, $3, $4, 'settled')`, uid, accession, dicomIndication, dicomSource)
}

// waitingDraftJob inserts a draft_study job snoozed until the order-wait
// deadline, as the settle step does for a study without an order.
func waitingDraftJob(t *testing.T, s *drafts.Store, uid string) int64 {
	t.Helper()
	ctx := context.Background()
	res, err := s.River.Insert(ctx, drafts.DraftStudyArgs{StudyUID: uid, Reason: "settled"},
		&river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Job.State != "scheduled" {
		t.Fatalf("job state %s, want scheduled", res.Job.State)
	}
	return res.Job.ID
}

type jobRow struct {
	ID          int64
	State       string
	Reason      string
	ScheduledIn time.Duration
}

func draftJobs(t *testing.T, s *drafts.Store, uid string) []jobRow {
	t.Helper()
	rows, err := s.DB().Query(context.Background(), `SELECT id, state::text, args->>'reason', scheduled_at - now()
		FROM river_job WHERE kind='draft_study' AND args->>'study_uid'=$1 ORDER BY id`, uid)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []jobRow
	for rows.Next() {
		var j jobRow
		if err := rows.Scan(&j.ID, &j.State, &j.Reason, &j.ScheduledIn); err != nil {
			t.Fatal(err)
		}
		out = append(out, j)
	}
	return out
}

var msgSeq int

func orderMsg(orders ...drafts.Order) drafts.OrderMessage {
	msgSeq++
	id := "CTL" + time.Now().Format("150405.000000") + string(rune('a'+msgSeq%26))
	return drafts.OrderMessage{ControlID: id, MessageType: "ORM^O01", SendingApp: "RIS", SendingFacility: "HOSP",
		VersionID: "2.3", Raw: []byte("MSH|^~\\&|RIS|HOSP|||||ORM^O01|" + id + "|P|2.3\r"), Orders: orders}
}

func TestOrderArrivalWakesWaitingDraftJob(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	addStudy(t, s, "1.2.3.1", "ACC1", "", "")
	addStudy(t, s, "1.2.3.2", "", "", "") // matched by Study UID only
	addStudy(t, s, "1.2.3.3", "ACC3", "", "")
	j1 := waitingDraftJob(t, s, "1.2.3.1")
	j2 := waitingDraftJob(t, s, "1.2.3.2")
	j3 := waitingDraftJob(t, s, "1.2.3.3")

	res, err := s.SaveOrderMessage(ctx, orderMsg(
		drafts.Order{Action: drafts.OrderNew, OrderControl: "NW", AccessionNumber: "ACC1", Indication: "Cough", IndicationSource: drafts.IndicationFromOBR31},
		drafts.Order{Action: drafts.OrderNew, OrderControl: "NW", StudyUID: "1.2.3.2", Indication: "Fever", IndicationSource: drafts.IndicationFromOBR13},
	))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Orders) != 2 || res.Orders[0].JobsRetried != 1 || res.Orders[1].JobsRetried != 1 {
		t.Fatalf("outcome %+v", res.Orders)
	}
	for _, c := range []struct {
		uid string
		id  int64
	}{{"1.2.3.1", j1}, {"1.2.3.2", j2}} {
		jobs := draftJobs(t, s, c.uid)
		if len(jobs) != 1 || jobs[0].ID != c.id || jobs[0].State != "available" || jobs[0].ScheduledIn > time.Second {
			t.Fatalf("%s: jobs %+v, want job %d available now", c.uid, jobs, c.id)
		}
	}
	// A study whose order has not come keeps waiting.
	if jobs := draftJobs(t, s, "1.2.3.3"); len(jobs) != 1 || jobs[0].ID != j3 || jobs[0].State != "scheduled" {
		t.Fatalf("unrelated study's job touched: %+v", jobs)
	}

	ind, err := s.IndicationForStudy(ctx, "1.2.3.1")
	if err != nil || ind.Text != "Cough" || ind.Source != "hl7:OBR-31" || ind.OrderID == 0 {
		t.Fatalf("indication %+v %v", ind, err)
	}
	ind, err = s.IndicationForStudy(ctx, "1.2.3.2")
	if err != nil || ind.Text != "Fever" || ind.Source != "hl7:OBR-13" {
		t.Fatalf("indication %+v %v", ind, err)
	}
}

func TestOrderAfterUnsignedDraftQueuesRedraft(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	addStudy(t, s, "2.1", "ACC21", "CHEST PAIN", "(0040,1002)")
	addStudy(t, s, "2.2", "ACC22", "", "")
	addStudy(t, s, "2.3", "ACC23", "", "")
	for _, uid := range []string{"2.1", "2.2", "2.3"} {
		ind, _ := s.IndicationForStudy(ctx, uid)
		if _, _, err := s.SaveAIDraft(ctx, drafts.AIDraft{StudyUID: uid, Findings: "No acute findings.",
			ModelName: "demo", Indication: ind.Text, IndicationSource: ind.Source}); err != nil {
			t.Fatal(err)
		}
	}
	// 2.2 is signed: its draft must not be re-done.
	draftstest.MustExec(t, s, `UPDATE reports SET status='signed', signed_version=1 WHERE study_uid='2.2'`)
	// 2.3 was edited by a radiologist (version 2, unsigned): left alone.
	draftstest.MustExec(t, s, `INSERT INTO report_versions (report_id, version, kind, author, findings)
		SELECT id, 2, 'edit', 'alice', 'Edited.' FROM reports WHERE study_uid='2.3'`)
	draftstest.MustExec(t, s, `UPDATE reports SET current_version=2 WHERE study_uid='2.3'`)

	var orders []drafts.Order
	for _, acc := range []string{"ACC21", "ACC22", "ACC23"} {
		orders = append(orders, drafts.Order{Action: drafts.OrderNew, OrderControl: "NW", AccessionNumber: acc,
			Indication: "Dyspnoea", IndicationSource: drafts.IndicationFromOBR31})
	}
	res, err := s.SaveOrderMessage(ctx, orderMsg(orders...))
	if err != nil {
		t.Fatal(err)
	}
	if res.Orders[0].JobsInserted != 1 || res.Orders[1].JobsInserted != 0 || res.Orders[2].JobsInserted != 0 {
		t.Fatalf("outcome %+v", res.Orders)
	}
	jobs := draftJobs(t, s, "2.1")
	if len(jobs) != 1 || jobs[0].Reason != "order_arrived" || jobs[0].State != "available" {
		t.Fatalf("2.1 jobs %+v", jobs)
	}
	for _, uid := range []string{"2.2", "2.3"} {
		if jobs := draftJobs(t, s, uid); len(jobs) != 0 {
			t.Fatalf("%s: unexpected re-draft %+v", uid, jobs)
		}
	}
	// The same indication again (an XO with nothing new for the draft) does
	// not queue yet another draft once the first re-draft has been done.
	draftstest.MustExec(t, s, `UPDATE river_job SET state='completed', finalized_at=now() WHERE kind='draft_study'`)
	if _, _, err := s.SaveAIDraft(ctx, drafts.AIDraft{StudyUID: "2.1", Findings: "x", Indication: "Dyspnoea",
		IndicationSource: drafts.IndicationFromOBR31}); err != nil {
		t.Fatal(err)
	}
	orders[0].Action, orders[0].OrderControl = drafts.OrderUpdate, "XO"
	res, err = s.SaveOrderMessage(ctx, orderMsg(orders[0]))
	if err != nil || res.Orders[0].JobsInserted != 0 {
		t.Fatalf("XO with same indication: %+v %v", res.Orders, err)
	}
}

func TestCancelStopsPendingDraft(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	addStudy(t, s, "3.1", "ACC31", "Reason in DICOM", "(0040,1002)")
	job := waitingDraftJob(t, s, "3.1")
	nw := drafts.Order{Action: drafts.OrderNew, OrderControl: "NW", AccessionNumber: "ACC31", StudyUID: "3.1",
		PatientName: "DOE^JANE", Indication: "Trauma", IndicationSource: drafts.IndicationFromOBR31}
	if _, err := s.SaveOrderMessage(ctx, orderMsg(nw)); err != nil {
		t.Fatal(err)
	}
	// The NW woke the job; the worker has not picked it up yet.
	ca := drafts.Order{Action: drafts.OrderCancel, OrderControl: "CA", AccessionNumber: "ACC31"}
	res, err := s.SaveOrderMessage(ctx, orderMsg(ca))
	if err != nil {
		t.Fatal(err)
	}
	if res.Orders[0].JobsCancelled != 1 || res.Orders[0].Version != 2 || res.Orders[0].Created {
		t.Fatalf("outcome %+v", res.Orders[0])
	}
	jobs := draftJobs(t, s, "3.1")
	if len(jobs) != 1 || jobs[0].ID != job || jobs[0].State != "cancelled" {
		t.Fatalf("jobs %+v", jobs)
	}
	var reason string
	if err := s.DB().QueryRow(ctx, `SELECT state_reason FROM studies WHERE study_uid='3.1'`).Scan(&reason); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reason, "cancel") {
		t.Fatalf("state_reason %q", reason)
	}
	// A cancelled order gives no indication; the DICOM one is used, and
	// the caller learns the order was cancelled.
	ind, err := s.IndicationForStudy(ctx, "3.1")
	if err != nil || ind.Text != "Reason in DICOM" || ind.Source != "dicom:(0040,1002)" || !ind.OrderCancelled || ind.OrderID != 0 {
		t.Fatalf("indication %+v %v", ind, err)
	}
	// The CA kept what the NW knew.
	var name, control string
	var cancelled bool
	if err := s.DB().QueryRow(ctx, `SELECT patient_name, order_control, cancelled FROM orders WHERE accession_number='ACC31'`).
		Scan(&name, &control, &cancelled); err != nil {
		t.Fatal(err)
	}
	if name != "DOE^JANE" || control != "CA" || !cancelled {
		t.Fatalf("order after CA: %q %q %v", name, control, cancelled)
	}
	var events int
	s.DB().QueryRow(ctx, `SELECT count(*) FROM order_events`).Scan(&events) //nolint:errcheck
	if events != 2 {
		t.Fatalf("%d order events, want 2", events)
	}
}

func TestXOUpdatesAndDuplicateIsNotReapplied(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	nw := orderMsg(drafts.Order{Action: drafts.OrderNew, OrderControl: "NW", AccessionNumber: "ACC41",
		ProcedureText: "XR CHEST 1V", Indication: "Cough", IndicationSource: drafts.IndicationFromOBR13})
	if _, err := s.SaveOrderMessage(ctx, nw); err != nil {
		t.Fatal(err)
	}
	xo := orderMsg(drafts.Order{Action: drafts.OrderUpdate, OrderControl: "XO", AccessionNumber: "ACC41",
		StudyUID: "4.1", ProcedureText: "XR CHEST 2V", Indication: "Cough, fever", IndicationSource: drafts.IndicationFromOBR31})
	if _, err := s.SaveOrderMessage(ctx, xo); err != nil {
		t.Fatal(err)
	}
	// The first message again (sender lost our ACK and re-sent it): stored
	// once, not applied over the XO.
	res, err := s.SaveOrderMessage(ctx, nw)
	if err != nil || !res.Duplicate || len(res.Orders) != 0 {
		t.Fatalf("re-send: %+v %v", res, err)
	}
	var proc, ind, src, uid string
	var version, n int
	if err := s.DB().QueryRow(ctx, `SELECT procedure_text, indication, indication_source, study_uid, version FROM orders`).
		Scan(&proc, &ind, &src, &uid, &version); err != nil {
		t.Fatal(err)
	}
	if proc != "XR CHEST 2V" || ind != "Cough, fever" || src != "hl7:OBR-31" || uid != "4.1" || version != 2 {
		t.Fatalf("order after XO: %q %q %q %q v%d", proc, ind, src, uid, version)
	}
	s.DB().QueryRow(ctx, `SELECT count(*) FROM hl7_messages`).Scan(&n) //nolint:errcheck
	if n != 2 {
		t.Fatalf("%d messages stored, want 2", n)
	}
	// Audit rows reference the order, never copy PHI.
	var audits int
	var detail string
	if err := s.DB().QueryRow(ctx, `SELECT count(*), max(detail::text) FROM audit_log
		WHERE action IN ('order.new','order.update') AND object_ref = 'order:' || (SELECT id FROM orders)`).Scan(&audits, &detail); err != nil {
		t.Fatal(err)
	}
	if audits != 2 || !strings.Contains(detail, `"version": 2`) || strings.Contains(detail, "Cough") {
		t.Fatalf("audit rows %d, detail %s", audits, detail)
	}
	// The order arrived before its images: the study, when it comes with
	// the accession, finds it.
	addStudy(t, s, "4.1-other-uid", "ACC41", "", "")
	ind2, err := s.IndicationForStudy(ctx, "4.1-other-uid")
	if err != nil || ind2.Text != "Cough, fever" {
		t.Fatalf("order before images: %+v %v", ind2, err)
	}
}

func TestIndicationPrecedence(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	addStudy(t, s, "5.1", "ACC51", "dicom text", "(0032,1060)")
	addStudy(t, s, "5.2", "", "", "")
	addStudy(t, s, "5.3", "", "reason", "ReasonForTheRequestedProcedure") // as DICOM ingest records it
	if ind, err := s.IndicationForStudy(ctx, "5.3"); err != nil || ind.Source != "dicom:(0040,1002)" || ind.Text != "reason" {
		t.Fatalf("%+v %v", ind, err)
	}
	// No order: the DICOM indication.
	ind, err := s.IndicationForStudy(ctx, "5.1")
	if err != nil || ind.Text != "dicom text" || ind.Source != "dicom:(0032,1060)" || ind.OrderID != 0 {
		t.Fatalf("%+v %v", ind, err)
	}
	// Nothing at all.
	ind, err = s.IndicationForStudy(ctx, "5.2")
	if err != nil || ind.Text != "" || ind.Source != drafts.IndicationNone {
		t.Fatalf("%+v %v", ind, err)
	}
	// Two orders: one naming the study's UID, one its accession; the
	// accession wins.
	if _, err := s.SaveOrderMessage(ctx, orderMsg(
		drafts.Order{Action: drafts.OrderNew, OrderControl: "NW", StudyUID: "5.1", Indication: "by uid", IndicationSource: drafts.IndicationFromOBR13},
		drafts.Order{Action: drafts.OrderNew, OrderControl: "NW", AccessionNumber: "ACC51", Indication: "by accession", IndicationSource: drafts.IndicationFromOBR31},
	)); err != nil {
		t.Fatal(err)
	}
	ind, err = s.IndicationForStudy(ctx, "5.1")
	if err != nil || ind.Text != "by accession" || ind.Source != "hl7:OBR-31" {
		t.Fatalf("%+v %v", ind, err)
	}
	// An order without an indication falls back to the DICOM one.
	if _, err := s.SaveOrderMessage(ctx, orderMsg(drafts.Order{Action: drafts.OrderNew, OrderControl: "NW", AccessionNumber: "ACC51"})); err != nil {
		t.Fatal(err)
	}
	ind, err = s.IndicationForStudy(ctx, "5.1")
	if err != nil || ind.Text != "dicom text" || ind.OrderID == 0 {
		t.Fatalf("%+v %v", ind, err)
	}
	// Neither key: refused before anything is stored.
	if _, err := s.SaveOrderMessage(ctx, orderMsg(drafts.Order{Action: drafts.OrderNew, OrderControl: "NW"})); err != drafts.ErrNoOrderKey {
		t.Fatalf("no key: %v", err)
	}
}

// An order that changes the indication while a draft job of the same
// generation is still running (it saved its draft and is finishing) is not
// lost to River's uniqueness: the re-draft gets a new generation and its
// own job.
func TestOrderWhileDraftJobRunsQueuesRedraft(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	addStudy(t, s, "2.9", "ACC29", "CHEST PAIN", "(0040,1002)")
	ind, _ := s.IndicationForStudy(ctx, "2.9")
	if _, _, err := s.SaveAIDraft(ctx, drafts.AIDraft{StudyUID: "2.9", Findings: "No acute findings.",
		ModelName: "demo", Indication: ind.Text, IndicationSource: ind.Source}); err != nil {
		t.Fatal(err)
	}
	var gen int64
	if err := s.DB().QueryRow(ctx, `SELECT draft_generation FROM studies WHERE study_uid = '2.9'`).Scan(&gen); err != nil {
		t.Fatal(err)
	}
	if _, err := s.River.Insert(ctx, drafts.DraftStudyArgs{StudyUID: "2.9", Reason: "settled", Generation: gen}, nil); err != nil {
		t.Fatal(err)
	}
	draftstest.MustExec(t, s, `UPDATE river_job SET state='running', attempt=1, attempted_at=now() WHERE kind='draft_study'`)
	res, err := s.SaveOrderMessage(ctx, orderMsg(drafts.Order{Action: drafts.OrderNew, OrderControl: "NW", AccessionNumber: "ACC29",
		Indication: "Dyspnoea", IndicationSource: drafts.IndicationFromOBR31}))
	if err != nil {
		t.Fatal(err)
	}
	jobs := draftJobs(t, s, "2.9")
	if res.Orders[0].JobsInserted != 1 || len(jobs) != 2 || jobs[1].Reason != "order_arrived" || jobs[1].State != "available" {
		t.Fatalf("outcome %+v, jobs %+v", res.Orders, jobs)
	}
	var newGen int64
	if err := s.DB().QueryRow(ctx, `SELECT draft_generation FROM studies WHERE study_uid = '2.9'`).Scan(&newGen); err != nil || newGen <= gen {
		t.Fatalf("generation %d → %d (%v): the running job would still write", gen, newGen, err)
	}
}
