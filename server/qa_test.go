package server

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/radraft/radraft/chexprompt"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/qa"
	"github.com/radraft/radraft/workflow"
)

// signAndEvaluate signs a seeded study with text and runs the evaluation job
// function (what the River worker does) with the offline evaluator.
func (e *env) signAndEvaluate(uid, signed string) *workflow.Outcome {
	e.t.Helper()
	r, err := e.store.SignReport(context.Background(), drafts.ReportChange{StudyUID: uid, Findings: signed, Actor: "radiologist1"}, false)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := workflow.EvaluateReport(context.Background(), qa.New(e.store.DB()), chexprompt.NewOffline(),
		drafts.EvaluateReportArgs{ReportID: r.ID, ReferenceVersion: *r.SignedVersion})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func TestQAFlagsDispositionMetricsExport(t *testing.T) {
	e := newEnv(t, nil)
	e.seedStudy("1.2.826.1", "ACC1", "MRN1", "DOE^JANE", "2026-11-20", "No pneumothorax. Heart size is normal.")
	e.seedStudy("1.2.826.2", "ACC2", "MRN2", "ROE^RICHARD", "2026-11-20", "Lungs are clear. Heart size is normal.")
	flagged := e.signAndEvaluate("1.2.826.1", "Large left pneumothorax. Heart size is normal.")
	clean := e.signAndEvaluate("1.2.826.2", "Lungs are clear. Heart size is normal.")
	if flagged.Saved.FlagID == 0 || clean.Saved.FlagID != 0 {
		t.Fatalf("flags: %+v %+v", flagged.Saved, clean.Saved)
	}

	qa := e.login("qa_lead1")
	var list struct {
		Items []struct {
			ID           int64  `json:"id"`
			StudyUID     string `json:"study_uid"`
			Status       string `json:"status"`
			ModelVersion string `json:"model_version"`
			Errors       []struct {
				Type        string `json:"type"`
				Significant bool   `json:"significant"`
				Count       int    `json:"count"`
			} `json:"errors"`
		} `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	if resp := qa.do("GET", "/api/v1/qa/flags", nil, nil, &list); resp.StatusCode != 200 {
		t.Fatalf("list: %d %s", resp.StatusCode, bodyOf(resp))
	}
	if len(list.Items) != 1 || list.Items[0].StudyUID != "1.2.826.1" || list.Items[0].Status != "open" || list.Items[0].ModelVersion != "0" ||
		len(list.Items[0].Errors) != 1 || list.Items[0].Errors[0].Type != "B" || !list.Items[0].Errors[0].Significant || list.NextCursor != nil {
		t.Fatalf("list %+v", list)
	}
	id := itoa64(list.Items[0].ID)
	// Filters: by letter, by name with significance, by model version, by dates.
	for q, want := range map[string]int{
		"?type=B": 1, "?type=A": 0, "?type=omission_finding&significance=significant": 1,
		"?type=omission_finding&significance=insignificant": 0, "?model_version=0": 1, "?model_version=9": 0,
		"?from=2000-01-01&to=2000-12-31": 0, "?status=open": 1, "?status=dispositioned": 0,
	} {
		list.Items = nil
		if resp := qa.do("GET", "/api/v1/qa/flags"+q, nil, nil, &list); resp.StatusCode != 200 || len(list.Items) != want {
			t.Errorf("%s: %d, %d items, want %d", q, resp.StatusCode, len(list.Items), want)
		}
	}
	for _, q := range []string{"?type=Z", "?significance=maybe", "?from=yesterday", "?cursor=x"} {
		if resp := qa.do("GET", "/api/v1/qa/flags"+q, nil, nil, nil); resp.StatusCode != 400 {
			t.Errorf("%s: %d", q, resp.StatusCode)
		}
	}

	var detail struct {
		AIFindings     string `json:"ai_findings"`
		SignedFindings string `json:"signed_findings"`
		Errors         []struct {
			Type               string `json:"type"`
			Sentence           string `json:"sentence"`
			ReferenceSentences []int  `json:"reference_sentences"`
		} `json:"errors"`
		Evaluation struct {
			Engine             string         `json:"engine"`
			Note               string         `json:"note"`
			Significant        map[string]int `json:"clinically_significant"`
			ReferenceSentences []string       `json:"reference_sentences"`
		} `json:"evaluation"`
	}
	if resp := qa.do("GET", "/api/v1/qa/flags/"+id, nil, nil, &detail); resp.StatusCode != 200 {
		t.Fatalf("detail: %d %s", resp.StatusCode, bodyOf(resp))
	}
	if detail.AIFindings != "No pneumothorax. Heart size is normal." || !strings.HasPrefix(detail.SignedFindings, "Large left") ||
		len(detail.Errors) != 1 || detail.Errors[0].Type != "B" || detail.Errors[0].Sentence != "Large left pneumothorax." ||
		detail.Evaluation.Engine != "offline" || !strings.Contains(detail.Evaluation.Note, "approximation") ||
		detail.Evaluation.Significant["omission_finding"] != 1 || detail.Evaluation.ReferenceSentences[detail.Errors[0].ReferenceSentences[0]] != "Large left pneumothorax." {
		t.Fatalf("detail %+v", detail)
	}
	if resp := qa.do("GET", "/api/v1/qa/flags/999", nil, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("unknown flag: %d", resp.StatusCode)
	}

	if resp := qa.do("POST", "/api/v1/qa/flags/"+id+"/disposition", map[string]string{"disposition": "maybe"}, nil, nil); resp.StatusCode != 400 {
		t.Fatalf("bad disposition: %d", resp.StatusCode)
	}
	var disp struct {
		Flag struct {
			Status      string `json:"status"`
			Disposition string `json:"disposition"`
			Note        string `json:"note"`
			DisposedBy  string `json:"disposed_by"`
		} `json:"flag"`
	}
	if resp := qa.do("POST", "/api/v1/qa/flags/"+id+"/disposition", map[string]string{"disposition": "model_error_confirmed", "note": "missed PTX"}, nil, &disp); resp.StatusCode != 200 {
		t.Fatalf("disposition: %d %s", resp.StatusCode, bodyOf(resp))
	}
	if disp.Flag.Status != "dispositioned" || disp.Flag.Disposition != "model_error_confirmed" || disp.Flag.DisposedBy != "qa_lead1" || disp.Flag.Note != "missed PTX" {
		t.Fatalf("disposition %+v", disp)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action='qa.disposition' AND actor='qa_lead1' AND object_ref=$1 AND remote_addr<>''`, "qa_flag:"+id); n != 1 {
		t.Fatalf("disposition audit rows %d", n)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action='qa.flag.view' AND actor='qa_lead1'`); n != 1 {
		t.Fatalf("view audit rows %d", n)
	}

	var metrics struct {
		Weeks []struct {
			Week         string             `json:"week"`
			ModelVersion string             `json:"model_version"`
			Evaluated    int                `json:"evaluated"`
			ErrorFree    int                `json:"error_free"`
			Share        float64            `json:"error_free_share"`
			ByType       map[string]float64 `json:"by_type"`
		} `json:"weeks"`
		Note string `json:"note"`
	}
	if resp := qa.do("GET", "/api/v1/qa/metrics", nil, nil, &metrics); resp.StatusCode != 200 {
		t.Fatalf("metrics: %d %s", resp.StatusCode, bodyOf(resp))
	}
	if len(metrics.Weeks) != 1 || metrics.Weeks[0].Evaluated != 2 || metrics.Weeks[0].ErrorFree != 1 || metrics.Weeks[0].Share != 0.5 ||
		metrics.Weeks[0].ByType["B"] != 0.5 || !strings.Contains(metrics.Weeks[0].Week, "-W") || !strings.Contains(metrics.Note, "approximation") {
		t.Fatalf("metrics %+v", metrics)
	}

	resp := qa.do("GET", "/api/v1/qa/export.csv", nil, nil, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	recs, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("csv %d rows, %v", len(recs), err)
	}
	resp = qa.do("GET", "/api/v1/qa/export.csv?flagged=true", nil, nil, nil)
	if recs, _ := csv.NewReader(resp.Body).ReadAll(); len(recs) != 2 {
		t.Fatalf("flagged csv %d rows", len(recs))
	}

	// admin may read QA too; a radiologist may not.
	if resp := e.login("admin1").do("GET", "/api/v1/qa/flags", nil, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("admin: %d", resp.StatusCode)
	}
	rad := e.login("radiologist1")
	for _, r := range [][2]string{{"GET", "/api/v1/qa/flags"}, {"GET", "/api/v1/qa/flags/" + id}, {"POST", "/api/v1/qa/flags/" + id + "/disposition"},
		{"GET", "/api/v1/qa/metrics"}, {"GET", "/api/v1/qa/export.csv"}} {
		if resp := rad.do(r[0], r[1], map[string]string{"disposition": "acceptable"}, nil, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("radiologist %s %s: %d", r[0], r[1], resp.StatusCode)
		}
	}
	if resp := e.anon().do("GET", "/api/v1/qa/flags", nil, nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", resp.StatusCode)
	}
}

func TestSecondReaderRoute(t *testing.T) {
	e := newEnv(t, nil)
	e.seedStudy("1.2.826.3", "ACC3", "MRN3", "DOE^JOHN", "2026-11-20", "Small left pleural effusion. No pneumothorax.")
	rad := e.login("radiologist1")
	var out struct {
		Check struct {
			Status           string `json:"status"`
			Evaluator        string `json:"evaluator"`
			Note             string `json:"note"`
			SignificantTotal int    `json:"significant_total"`
			Errors           []struct {
				Type     string `json:"type"`
				Sentence string `json:"sentence"`
			} `json:"errors"`
			DifferingAI []struct {
				Index int    `json:"index"`
				Text  string `json:"text"`
			} `json:"differing_ai"`
			DifferingCurrent []struct {
				Text string `json:"text"`
			} `json:"differing_current"`
		} `json:"check"`
	}
	resp := rad.do("POST", "/api/v1/studies/1.2.826.3/report/check", map[string]string{"findings": "Small right pleural effusion. No pneumothorax."}, nil, &out)
	if resp.StatusCode != 200 {
		t.Fatalf("check: %d %s", resp.StatusCode, bodyOf(resp))
	}
	c := out.Check
	if c.Status != "done" || c.Evaluator != "offline" || !strings.Contains(c.Note, "approximation") || c.SignificantTotal != 1 ||
		len(c.Errors) != 1 || c.Errors[0].Type != "C" || c.Errors[0].Sentence != "Small left pleural effusion." ||
		len(c.DifferingAI) != 1 || c.DifferingAI[0].Index != 0 || len(c.DifferingCurrent) != 1 || c.DifferingCurrent[0].Text != "Small right pleural effusion." {
		t.Fatalf("check %+v", c)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action='report.second_read' AND actor='radiologist1'`); n != 1 {
		t.Fatalf("audit rows %d", n)
	}
	if resp := rad.do("POST", "/api/v1/studies/9.9/report/check", map[string]string{"findings": "x"}, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("unknown study: %d", resp.StatusCode)
	}
	if resp := e.login("qa_lead1").do("POST", "/api/v1/studies/1.2.826.3/report/check", map[string]string{"findings": "x"}, nil, nil); resp.StatusCode != 403 {
		t.Fatalf("qa_lead check: %d", resp.StatusCode)
	}
	// Stored evaluations of the report: none before signing.
	var evs struct {
		Items []any `json:"items"`
	}
	if resp := rad.do("GET", "/api/v1/studies/1.2.826.3/report/evaluations", nil, nil, &evs); resp.StatusCode != 200 || len(evs.Items) != 0 {
		t.Fatalf("evaluations: %d %+v", resp.StatusCode, evs)
	}
	e.signAndEvaluate("1.2.826.3", "Small right pleural effusion. No pneumothorax.")
	if resp := rad.do("GET", "/api/v1/studies/1.2.826.3/report/evaluations", nil, nil, &evs); resp.StatusCode != 200 || len(evs.Items) != 1 {
		t.Fatalf("evaluations after sign: %d %+v", resp.StatusCode, evs)
	}
}
