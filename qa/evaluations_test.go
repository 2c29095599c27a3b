package qa_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/qa"
)

// signedReport makes a study with an AI draft (model version mv) and signs
// it with signed text; it returns the report.
func signedReport(t *testing.T, s *drafts.Store, uid, mv, ai, signed string) *drafts.Report {
	t.Helper()
	ctx := context.Background()
	draftstest.MustExec(t, s, `INSERT INTO studies (study_uid, accession_number, patient_id, patient_name, state)
		VALUES ($1, 'ACC-'||$1, 'MRN-'||$1, 'DOE^JANE', 'ready')`, uid)
	if _, _, err := s.SaveAIDraft(ctx, drafts.AIDraft{StudyUID: uid, Findings: ai, ModelName: "llava-rad", ModelVersion: mv}); err != nil {
		t.Fatal(err)
	}
	r, err := s.SignReport(ctx, drafts.ReportChange{StudyUID: uid, Findings: signed, Actor: "rad1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func counts(sig map[string]int) map[string]int {
	m := map[string]int{}
	for _, t := range qa.EvaluationErrorTypes {
		m[t] = sig[t]
	}
	return m
}

func TestSaveEvaluationFlagsAndDisposition(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	r := signedReport(t, s, "1.2.840.1", "v1", "No pneumothorax.", "Small right pneumothorax.")

	// Signing queued the evaluation job in its transaction.
	var jobs int
	if err := s.DB().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind='evaluate_report' AND queue=$1
		AND args->>'report_id'=$2 AND (args->>'reference_version')::int=$3`, drafts.QueueEvaluation, r.ID, *r.SignedVersion).Scan(&jobs); err != nil || jobs != 1 {
		t.Fatalf("evaluate_report jobs %d err %v", jobs, err)
	}

	in, err := qa.New(s.DB()).LoadEvaluationInput(ctx, r.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if in.Candidate != "No pneumothorax." || in.Reference != "Small right pneumothorax." || in.CandidateVersion != 1 ||
		in.ReferenceVersion != *r.SignedVersion || in.ModelVersion != "v1" || in.PatientName != "DOE^JANE" {
		t.Fatalf("input %+v", in)
	}
	ev := qa.NewEvaluation{Engine: "offline", JudgeModel: "rules", Significant: counts(map[string]int{"omission_finding": 1}),
		Insignificant: counts(map[string]int{"incorrect_severity": 2}), Result: json.RawMessage(`{"errors":[]}`), Raw: "x"}
	saved, err := qa.New(s.DB()).SaveEvaluation(ctx, in, ev)
	if err != nil {
		t.Fatal(err)
	}
	if saved.FlagID == 0 || !saved.FlagCreated {
		t.Fatalf("no flag: %+v", saved)
	}
	// A retried job replaces the row and keeps the one flag.
	again, err := qa.New(s.DB()).SaveEvaluation(ctx, in, ev)
	if err != nil || again.EvaluationID != saved.EvaluationID || again.FlagID != saved.FlagID || again.FlagCreated {
		t.Fatalf("rerun %+v %v", again, err)
	}

	d, err := qa.New(s.DB()).FlagByID(ctx, saved.FlagID)
	if err != nil {
		t.Fatal(err)
	}
	if d.AIFindings != "No pneumothorax." || d.SignedFindings != "Small right pneumothorax." || d.Status != qa.FlagOpen ||
		d.Significant["omission_finding"] != 1 || d.SignificantTotal != 1 || d.InsignificantTotal != 2 || d.AccessionNumber != "ACC-1.2.840.1" ||
		d.ModelVersion != "v1" || d.Evaluation == nil || d.Evaluation.Raw != "x" {
		t.Fatalf("detail %+v", d)
	}

	if _, err := qa.New(s.DB()).DisposeFlag(ctx, saved.FlagID, "nonsense", "", "qa1", ""); !errors.Is(err, qa.ErrInvalidDisposition) {
		t.Fatalf("bad disposition: %v", err)
	}
	if _, err := qa.New(s.DB()).DisposeFlag(ctx, 999, qa.DispositionAcceptable, "", "qa1", ""); !errors.Is(err, qa.ErrFlagNotFound) {
		t.Fatalf("unknown flag: %v", err)
	}
	d, err = qa.New(s.DB()).DisposeFlag(ctx, saved.FlagID, qa.DispositionModelError, "missed PTX, patient DOE", "qa1", "10.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != qa.FlagDispositioned || *d.Disposition != qa.DispositionModelError || *d.DisposedBy != "qa1" || d.Note != "missed PTX, patient DOE" {
		t.Fatalf("after disposition %+v", d.Flag)
	}
	var actor, ref, addr string
	var detail map[string]any
	if err := s.DB().QueryRow(ctx, `SELECT actor, object_ref, remote_addr, detail FROM audit_log WHERE action='qa.disposition'`).
		Scan(&actor, &ref, &addr, &detail); err != nil {
		t.Fatal(err)
	}
	if actor != "qa1" || addr != "10.0.0.9" || detail["disposition"] != qa.DispositionModelError || detail["note_chars"] == nil {
		t.Fatalf("audit %s %s %s %v", actor, ref, addr, detail)
	}
	if b, _ := json.Marshal(detail); bytes.Contains(b, []byte("DOE")) {
		t.Fatalf("note text in audit: %s", b)
	}
	var flagAudits int
	s.DB().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action='qa.flag'`).Scan(&flagAudits)
	if flagAudits != 1 {
		t.Fatalf("qa.flag audits %d", flagAudits)
	}
}

func TestEvaluationWithoutSignificantErrorHasNoFlag(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	r := signedReport(t, s, "1.2.840.2", "v1", "Lungs clear.", "Lungs are clear.")
	in, err := qa.New(s.DB()).LoadEvaluationInput(ctx, r.ID, *r.SignedVersion)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := qa.New(s.DB()).SaveEvaluation(ctx, in, qa.NewEvaluation{Engine: "offline", Significant: counts(nil),
		Insignificant: counts(map[string]int{"omission_finding": 1})})
	if err != nil || saved.FlagID != 0 {
		t.Fatalf("%+v %v", saved, err)
	}
	// A report without an AI draft cannot be evaluated.
	draftstest.MustExec(t, s, `UPDATE reports SET ai_version=NULL WHERE id=$1`, r.ID)
	if _, err := qa.New(s.DB()).LoadEvaluationInput(ctx, r.ID, 0); !errors.Is(err, qa.ErrNoAIDraft) {
		t.Fatalf("err %v", err)
	}
	if _, err := qa.New(s.DB()).LoadEvaluationInput(ctx, "00000000-0000-0000-0000-000000000000", 0); !errors.Is(err, drafts.ErrNoReport) {
		t.Fatalf("err %v", err)
	}
}

func TestFlagFiltersMetricsAndCSV(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	type spec struct {
		uid, mv string
		at      time.Time
		sig     map[string]int
		insig   map[string]int
	}
	w1 := time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC) // ISO week 2026-W47
	w2 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC) // 2026-W48
	specs := []spec{
		{"1.1", "v1", w1, map[string]int{"omission_finding": 1}, nil},
		{"1.2", "v1", w1, nil, map[string]int{"incorrect_location": 1}},
		{"1.3", "v1", w1, nil, nil},
		{"1.4", "v2", w2, map[string]int{"incorrect_location": 2}, map[string]int{"omission_finding": 1}},
		{"1.5", "v2", w2, map[string]int{"false_positive_finding": 1}, nil},
	}
	flagIDs := map[string]int64{}
	for _, sp := range specs {
		r := signedReport(t, s, sp.uid, sp.mv, "AI text.", "Signed text.")
		in, err := qa.New(s.DB()).LoadEvaluationInput(ctx, r.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		in.ReferenceAt = sp.at
		saved, err := qa.New(s.DB()).SaveEvaluation(ctx, in, qa.NewEvaluation{Engine: "offline", Significant: counts(sp.sig), Insignificant: counts(sp.insig)})
		if err != nil {
			t.Fatal(err)
		}
		flagIDs[sp.uid] = saved.FlagID
	}
	list := func(f qa.FlagFilter) []string {
		t.Helper()
		fl, _, err := qa.New(s.DB()).ListFlags(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range fl {
			out = append(out, x.StudyUID)
		}
		return out
	}
	eq := func(name string, got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: got %v want %v", name, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: got %v want %v", name, got, want)
			}
		}
	}
	eq("all", list(qa.FlagFilter{}), "1.5", "1.4", "1.1")
	eq("model v1", list(qa.FlagFilter{ModelVersion: "v1"}), "1.1")
	eq("type", list(qa.FlagFilter{ErrorType: "incorrect_location"}), "1.4")
	eq("type insignificant", list(qa.FlagFilter{ErrorType: "omission_finding", Significance: "insignificant"}), "1.4")
	eq("type significant", list(qa.FlagFilter{ErrorType: "omission_finding", Significance: "significant"}), "1.1")
	eq("dates", list(qa.FlagFilter{From: w2.Add(-time.Hour), To: w2.Add(time.Hour)}), "1.5", "1.4")
	if _, err := qa.New(s.DB()).DisposeFlag(ctx, flagIDs["1.4"], qa.DispositionJudgeWrong, "", "qa1", ""); err != nil {
		t.Fatal(err)
	}
	eq("open", list(qa.FlagFilter{Status: qa.FlagOpen}), "1.5", "1.1")
	eq("disposition", list(qa.FlagFilter{Disposition: qa.DispositionJudgeWrong}), "1.4")
	page, next, err := qa.New(s.DB()).ListFlags(ctx, qa.FlagFilter{Limit: 2})
	if err != nil || len(page) != 2 || next == "" {
		t.Fatalf("page %d next %q err %v", len(page), next, err)
	}
	if _, _, err := qa.New(s.DB()).ListFlags(ctx, qa.FlagFilter{ErrorType: "x; DROP TABLE"}); !errors.Is(err, qa.ErrInvalidFilter) {
		t.Fatalf("invalid type: %v", err)
	}

	m, err := qa.New(s.DB()).WeeklyMetrics(ctx, qa.FlagFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m[0].Week != "2026-W47" || m[0].ModelVersion != "v1" || m[0].Evaluated != 3 || m[0].FreeOfSignificant != 2 ||
		m[0].Flagged != 1 || m[1].Week != "2026-W48" || m[1].ModelVersion != "v2" || m[1].Evaluated != 2 || m[1].ErrorFreeShare != 0 {
		t.Fatalf("metrics %+v", m)
	}
	if got := m[0].ErrorFreeShare; got < 0.666 || got > 0.667 {
		t.Fatalf("share %v", got)
	}
	if m[1].MeanSignificant["incorrect_location"] != 1 || m[1].MeanInsignificant["omission_finding"] != 0.5 || m[1].ByType["incorrect_location"] != 1 {
		t.Fatalf("means %+v", m[1])
	}
	if mv, _ := qa.New(s.DB()).WeeklyMetrics(ctx, qa.FlagFilter{ModelVersion: "v2"}); len(mv) != 1 {
		t.Fatalf("filtered metrics %+v", mv)
	}

	var buf bytes.Buffer
	n, err := qa.New(s.DB()).ExportEvaluationsCSV(ctx, &buf, qa.FlagFilter{}, false)
	if err != nil || n != 5 {
		t.Fatalf("csv n %d err %v", n, err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 6 || recs[0][0] != "evaluation_id" || len(recs[1]) != len(recs[0]) {
		t.Fatalf("csv %v %v", recs, err)
	}
	if bytes.Contains(buf.Bytes(), []byte("Signed text")) {
		t.Fatal("report text in CSV")
	}
	buf.Reset()
	if n, err := qa.New(s.DB()).ExportEvaluationsCSV(ctx, &buf, qa.FlagFilter{}, true); err != nil || n != 3 {
		t.Fatalf("flagged csv n %d err %v", n, err)
	}
}
