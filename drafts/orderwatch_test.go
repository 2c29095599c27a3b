package drafts_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
)

func addPatientStudy(t *testing.T, s *drafts.Store, uid, accession, mrn, name, date string) {
	t.Helper()
	draftstest.MustExec(t, s, `INSERT INTO studies (study_uid, accession_number, patient_id, patient_name, study_date, state)
		VALUES ($1, $2, $3, $4, $5::date, 'settled')`, uid, accession, mrn, name, date)
}

func aiDraft(t *testing.T, s *drafts.Store, uid, indication string) {
	t.Helper()
	if _, _, err := s.SaveAIDraft(context.Background(), drafts.AIDraft{StudyUID: uid, Findings: "Lungs are clear.",
		ModelName: "m", ModelVersion: "1", Indication: indication}); err != nil {
		t.Fatal(err)
	}
}

func worklistUIDs(t *testing.T, s *drafts.Store, q drafts.WorklistQuery) []string {
	t.Helper()
	page, err := s.Worklist(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range page.Items {
		out = append(out, it.StudyUID)
	}
	return out
}

func itemOf(t *testing.T, s *drafts.Store, uid string) drafts.WorklistItem {
	t.Helper()
	page, err := s.Worklist(context.Background(), drafts.WorklistQuery{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range page.Items {
		if it.StudyUID == uid {
			return it
		}
	}
	t.Fatalf("%s not in the worklist", uid)
	return drafts.WorklistItem{}
}

func save(t *testing.T, s *drafts.Store, o drafts.Order) drafts.OrderOutcome {
	t.Helper()
	res, err := s.SaveOrderMessage(context.Background(), orderMsg(o))
	if err != nil {
		t.Fatal(err)
	}
	return res.Orders[0]
}

// The order's accession, MRN and name are shown and searched beside the
// DICOM ones; a difference is flagged.
func TestWorklistShowsAndFindsTheOrdersIdentity(t *testing.T) {
	s := draftstest.New(t)
	addPatientStudy(t, s, "7.1", "", "MRN-D1", "DOE^JANE", "2026-11-01")          // matched by UID, no DICOM accession
	addPatientStudy(t, s, "7.2", "ACC-72", "MRN-D2", "ROE^RICHARD", "2026-11-02") // matched by accession, MRN differs
	save(t, s, drafts.Order{Action: drafts.OrderNew, AccessionNumber: "RIS-ACC-71", StudyUID: "7.1", PatientID: "MRN-D1", PatientName: "DOE^JANE^^"})
	save(t, s, drafts.Order{Action: drafts.OrderNew, AccessionNumber: "ACC-72", PatientID: "MRN-O2", PatientName: "Roe^Richard"})

	it := itemOf(t, s, "7.1")
	if it.OrderAccessionNumber != "RIS-ACC-71" || it.OrderID == nil || len(it.Mismatch) != 0 {
		t.Fatalf("7.1: %+v", it.OrderIdentity)
	}
	if got := worklistUIDs(t, s, drafts.WorklistQuery{Text: "ris-acc"}); !slices.Equal(got, []string{"7.1"}) {
		t.Fatalf("q=ris-acc found %v", got)
	}
	if got := worklistUIDs(t, s, drafts.WorklistQuery{Text: "MRN-O2"}); !slices.Equal(got, []string{"7.2"}) {
		t.Fatalf("q=order MRN found %v", got)
	}
	it = itemOf(t, s, "7.2")
	if !slices.Equal(it.Mismatch, []string{"patient_id"}) || it.PatientID != "MRN-D2" {
		t.Fatalf("7.2 mismatch %v (names differ only in case, MRN differs)", it.Mismatch)
	}
	if got := worklistUIDs(t, s, drafts.WorklistQuery{OrderIssue: "mismatch"}); !slices.Equal(got, []string{"7.2"}) {
		t.Fatalf("order_issue=mismatch found %v", got)
	}
	// A study arriving after its order gets the order's identity too.
	addPatientStudy(t, s, "7.3", "", "", "", "2026-11-03")
	save(t, s, drafts.Order{Action: drafts.OrderNew, AccessionNumber: "ACC-73", StudyUID: "7.3b", PatientName: "ROE^ANNA"})
	draftstest.MustExec(t, s, `UPDATE studies SET accession_number = 'ACC-73' WHERE study_uid = '7.3'`)
	if it := itemOf(t, s, "7.3"); it.OrderAccessionNumber != "ACC-73" {
		t.Fatalf("study updated after its order: %+v", it.OrderIdentity)
	}
	// A name only the order knows is found; words in order, as for DICOM names.
	if got := worklistUIDs(t, s, drafts.WorklistQuery{Text: "roe anna"}); !slices.Equal(got, []string{"7.3"}) {
		t.Fatalf("q=roe anna found %v", got)
	}
}

// A corrected order (XO) names its order by the placer order number even
// when it corrects the accession: the first order is updated, not doubled.
func TestCorrectedOrderUpdatesTheFirst(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	first := save(t, s, drafts.Order{Action: drafts.OrderNew, AccessionNumber: "FILLER-9", AccessionSource: "OBR-3",
		PlacerOrderNumber: "PL-9", FillerOrderNumber: "FILLER-9", PatientID: "MRN9"})
	xo := save(t, s, drafts.Order{Action: drafts.OrderUpdate, OrderControl: "XO", AccessionNumber: "ACC-9", AccessionSource: "OBR-18",
		PlacerOrderNumber: "PL-9", FillerOrderNumber: "FILLER-9", PatientID: "MRN9", Indication: "Cough", IndicationSource: drafts.IndicationFromOBR31})
	if xo.Created || xo.OrderID != first.OrderID || xo.Version != 2 {
		t.Fatalf("XO: %+v, first %+v", xo, first)
	}
	var n int
	var acc string
	if err := s.DB().QueryRow(ctx, `SELECT count(*), max(accession_number) FROM orders`).Scan(&n, &acc); err != nil {
		t.Fatal(err)
	}
	if n != 1 || acc != "ACC-9" {
		t.Fatalf("%d orders, accession %q", n, acc)
	}
	// The study with the corrected accession now has the order and its indication.
	addPatientStudy(t, s, "9.1", "ACC-9", "MRN9", "", "2026-11-04")
	ind, err := s.IndicationForStudy(ctx, "9.1")
	if err != nil || ind.Text != "Cough" || ind.OrderID != first.OrderID {
		t.Fatalf("indication %+v %v", ind, err)
	}
}

// A cancel withdraws the unsigned draft from the reading list: the worklist
// status is "cancelled" until the report is signed.
func TestCancelledOrderShowsInTheWorklist(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	addPatientStudy(t, s, "8.1", "ACC-81", "MRN8", "X^Y", "2026-11-05")
	save(t, s, drafts.Order{Action: drafts.OrderNew, AccessionNumber: "ACC-81", PlacerOrderNumber: "PL-81"})
	aiDraft(t, s, "8.1", "")
	if it := itemOf(t, s, "8.1"); it.Status != drafts.WorklistDrafted || it.OrderCancelled {
		t.Fatalf("before the cancel: %s %v", it.Status, it.OrderCancelled)
	}
	save(t, s, drafts.Order{Action: drafts.OrderCancel, OrderControl: "CA", PlacerOrderNumber: "PL-81", AccessionNumber: "ACC-81"})
	it := itemOf(t, s, "8.1")
	if it.Status != "cancelled" || !it.OrderCancelled {
		t.Fatalf("after the cancel: %s %v", it.Status, it.OrderCancelled)
	}
	if got := worklistUIDs(t, s, drafts.WorklistQuery{Statuses: []string{"cancelled"}}); !slices.Equal(got, []string{"8.1"}) {
		t.Fatalf("status=cancelled found %v", got)
	}
	if got := worklistUIDs(t, s, drafts.WorklistQuery{OrderIssue: "cancelled"}); !slices.Equal(got, []string{"8.1"}) {
		t.Fatalf("order_issue=cancelled found %v", got)
	}
	// Signed anyway: the signature wins over the cancellation.
	if _, err := s.SignReport(ctx, drafts.ReportChange{StudyUID: "8.1", Findings: "Read anyway.", Actor: "rad1"}, false); err != nil {
		t.Fatal(err)
	}
	if it := itemOf(t, s, "8.1"); it.Status != drafts.ReportSigned {
		t.Fatalf("signed after cancel: %s", it.Status)
	}
}

// Orders that match nothing, and studies drafted without an indication
// although their patient has an order, are listed for an administrator.
func TestOrdersNeedingAttention(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	addPatientStudy(t, s, "6.1", "ACC-REAL", "MRN6", "P^Q", "2026-11-06")
	aiDraft(t, s, "6.1", "")
	// The order's accession came from the wrong field: it matches nothing.
	off := save(t, s, drafts.Order{Action: drafts.OrderNew, AccessionNumber: "PL-6", PatientID: "MRN6", Indication: "Fever"})
	save(t, s, drafts.Order{Action: drafts.OrderNew, AccessionNumber: "ACC-OTHER", PatientID: "MRN-OTHER"})
	draftstest.MustExec(t, s, `UPDATE orders SET received_at = now() - interval '1 hour' WHERE accession_number = 'PL-6'`)

	res, err := s.OrdersNeedingAttention(ctx, 10*time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.UnmatchedOrders) != 1 || res.UnmatchedOrders[0].ID != off.OrderID ||
		!slices.Equal(res.UnmatchedOrders[0].PatientStudies, []string{"6.1"}) {
		t.Fatalf("unmatched: %+v", res.UnmatchedOrders)
	}
	if len(res.NoIndication) != 1 || res.NoIndication[0].StudyUID != "6.1" {
		t.Fatalf("no indication: %+v", res.NoIndication)
	}
	if got := worklistUIDs(t, s, drafts.WorklistQuery{OrderIssue: "no_indication"}); !slices.Equal(got, []string{"6.1"}) {
		t.Fatalf("order_issue=no_indication found %v", got)
	}
}

// Priors: the same Patient ID, or the MRN of the study's order; signed text only.
func TestPriors(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	addPatientStudy(t, s, "5.1", "A1", "MRN5", "P^Q", "2026-11-07")
	addPatientStudy(t, s, "5.2", "A2", "MRN5", "P^Q", "2025-01-01")
	addPatientStudy(t, s, "5.3", "A3", "OTHER-ID", "P^Q", "2024-01-01") // known by the order's MRN only
	addPatientStudy(t, s, "5.4", "A4", "MRN-X", "Z^Z", "2024-01-01")
	save(t, s, drafts.Order{Action: drafts.OrderNew, AccessionNumber: "A3", PatientID: "MRN5"})
	aiDraft(t, s, "5.2", "")
	if _, err := s.SignReport(ctx, drafts.ReportChange{StudyUID: "5.2", Findings: "Prior: small left effusion.", Actor: "rad1"}, false); err != nil {
		t.Fatal(err)
	}
	aiDraft(t, s, "5.3", "")
	pr, err := s.Priors(ctx, "5.1")
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, p := range pr {
		uids = append(uids, p.StudyUID)
	}
	if !slices.Equal(uids, []string{"5.2", "5.3"}) {
		t.Fatalf("priors %v", uids)
	}
	if pr[0].Findings != "Prior: small left effusion." || pr[0].SignedBy != "rad1" || pr[1].Findings != "" {
		t.Fatalf("prior texts: %+v", pr)
	}
}
