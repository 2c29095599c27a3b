package workflow_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/radraft/radraft/chexprompt"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/qa"
	"github.com/radraft/radraft/workflow"
)

// startWorkers runs a real River client on the evaluation queue.
func startWorkers(t *testing.T, s *drafts.Store, ev chexprompt.Evaluator) {
	t.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, &workflow.EvaluateWorker{QA: qa.New(s.DB()), Evaluator: ev})
	rc, err := river.NewClient(s.RiverDriver(), &river.Config{
		Workers: workers, Queues: map[string]river.QueueConfig{drafts.QueueEvaluation: {MaxWorkers: 2}},
		FetchCooldown: 20 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rc.Stop(ctx)
	})
}

func draftAndSign(t *testing.T, s *drafts.Store, uid, ai, signed string) *drafts.Report {
	t.Helper()
	ctx := context.Background()
	draftstest.MustExec(t, s, `INSERT INTO studies (study_uid, accession_number, patient_id, patient_name, patient_birth_date, state)
		VALUES ($1, 'A7788990', 'MRN445566', 'DOE^JANE', '19500203', 'ready')`, uid)
	if _, _, err := s.SaveAIDraft(ctx, drafts.AIDraft{StudyUID: uid, Findings: ai, ModelName: "llava-rad", ModelVersion: "demo-1"}); err != nil {
		t.Fatal(err)
	}
	if signed == "" {
		r, err := s.ReportForStudy(ctx, uid)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r, err := s.SignReport(ctx, drafts.ReportChange{StudyUID: uid, Findings: signed, Actor: "rad1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func waitEvaluation(t *testing.T, s *drafts.Store, reportID string) *qa.Evaluation {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		evs, err := qa.New(s.DB()).EvaluationsForReport(context.Background(), reportID)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) > 0 {
			return evs[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no evaluation within 30s")
	return nil
}

// TestSignedReportIsEvaluatedAndFlagged is the end-to-end path: signing
// queues evaluate_report in its transaction, a River worker scores the AI
// draft against the signed text offline, stores the evaluation, raises the
// QA flag, and a QA lead's disposition is audited.
func TestSignedReportIsEvaluatedAndFlagged(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	startWorkers(t, s, chexprompt.NewOffline())

	flagged := draftAndSign(t, s, "1.2.3.1", "No pneumothorax. Heart size is normal. Lungs are clear.",
		"Large right pneumothorax. Heart size is normal. Lungs are clear.")
	clean := draftAndSign(t, s, "1.2.3.2", "No pleural effusion or pneumothorax. Heart size is normal.",
		"Heart size is normal. No pneumothorax or pleural effusion.")

	ev := waitEvaluation(t, s, flagged.ID)
	if ev.Engine != chexprompt.EngineOffline || ev.Significant["omission_finding"] != 1 || ev.SignificantTotal != 1 ||
		ev.CandidateVersion != 1 || ev.ReferenceVersion != *flagged.SignedVersion || ev.ModelVersion != "demo-1" {
		t.Fatalf("evaluation %+v", ev)
	}
	var res chexprompt.Result
	if err := json.Unmarshal(ev.Result, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || res.Errors[0].Type != chexprompt.OmissionFinding || res.Errors[0].ReferenceSentences[0] != 0 ||
		res.Errors[0].CandidateSentences[0] != 0 || !strings.Contains(res.Note, "approximation") {
		t.Fatalf("result %+v", res)
	}
	if ev := waitEvaluation(t, s, clean.ID); ev.SignificantTotal != 0 || ev.InsignificantTotal != 0 {
		t.Fatalf("clean pair scored %+v", ev)
	}

	flags, _, err := qa.New(s.DB()).ListFlags(ctx, qa.FlagFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(flags) != 1 || flags[0].ReportID != flagged.ID || flags[0].Status != qa.FlagOpen {
		t.Fatalf("flags %+v", flags)
	}
	if _, err := qa.New(s.DB()).DisposeFlag(ctx, flags[0].ID, qa.DispositionModelError, "confirmed", "qa1", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.DB().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action='qa.disposition' AND actor='qa1'
		AND object_ref=$1`, "qa_flag:"+itoa(flags[0].ID)).Scan(&n); err != nil || n != 1 {
		t.Fatalf("disposition audit rows %d err %v", n, err)
	}
	// The job finished: nothing left to retry.
	// (River records completion asynchronously: poll.)
	pending := -1
	for i := 0; i < 100 && pending != 0; i++ {
		s.DB().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind='evaluate_report' AND state<>'completed'`).Scan(&pending)
		time.Sleep(50 * time.Millisecond)
	}
	if pending != 0 {
		t.Fatalf("%d evaluate_report jobs not completed", pending)
	}
}

// TestLLMJudgeJobStripsIdentifiers runs the job with the LLM judge against a
// local OpenAI-compatible server and checks what left radraft.
func TestLLMJudgeJobStripsIdentifiers(t *testing.T) {
	s := draftstest.New(t)
	j, reqs := newJudgeServer(t, goodAnswer)
	startWorkers(t, s, j)
	r := draftAndSign(t, s, "1.2.3.3", "No pneumothorax.",
		"Jane Doe (MRN445566, accession A7788990, born 02/03/1950): small right pneumothorax. Findings discussed with Dr. Alvarez on 11/27/2026.")
	ev := waitEvaluation(t, s, r.ID)
	if ev.Engine != chexprompt.EngineLLM || ev.JudgeModel != "test-judge" || ev.SignificantTotal != 1 || ev.Raw != goodAnswer {
		t.Fatalf("evaluation %+v", ev)
	}
	if len(*reqs) == 0 || len((*reqs)[0].Messages) < 2 {
		t.Fatalf("the judge got no user message: %+v", *reqs)
	}
	sent := (*reqs)[0].Messages[1].Content
	for _, phi := range []string{"Jane", "Doe", "MRN445566", "A7788990", "1950", "Alvarez", "11/27/2026"} {
		if strings.Contains(sent, phi) {
			t.Errorf("%q was sent to the judge: %q", phi, sent)
		}
	}
	if !strings.Contains(sent, "small right pneumothorax") {
		t.Errorf("clinical text not sent: %q", sent)
	}
	flags, _, _ := qa.New(s.DB()).ListFlags(context.Background(), qa.FlagFilter{})
	if len(flags) != 1 || flags[0].Engine != chexprompt.EngineLLM {
		t.Fatalf("flags %+v", flags)
	}
}

func TestSecondRead(t *testing.T) {
	s := draftstest.New(t)
	draftAndSign(t, s, "1.2.3.4", "Small left pleural effusion. No pneumothorax. Heart size is normal.", "")
	sr, err := workflow.SecondRead(context.Background(), s, "1.2.3.4", "Small right pleural effusion. No pneumothorax. Heart size is normal.")
	if err != nil {
		t.Fatal(err)
	}
	if sr.AIVersion != 1 || sr.Result.ClinicallySignificant.IncorrectLocation != 1 ||
		len(sr.DifferingAI) != 1 || sr.DifferingAI[0].Text != "Small left pleural effusion." ||
		len(sr.DifferingCurrent) != 1 || sr.DifferingCurrent[0].Index != 0 {
		t.Fatalf("second reading %+v", sr)
	}
	// Empty text: the report's current text (the AI draft itself) — no difference.
	sr, err = workflow.SecondRead(context.Background(), s, "1.2.3.4", "")
	if err != nil || sr.Result.Total() != 0 {
		t.Fatalf("%+v %v", sr, err)
	}
	if _, err := workflow.SecondRead(context.Background(), s, "9.9.9", "x"); err == nil {
		t.Fatal("unknown study accepted")
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

const goodAnswer = "Clinically significant errors: (A, 1); (B, 0); (C, 0); (D, 0); (E, 0); (F, 0)\nClinically insignificant errors: (A, 0); (B, 2); (C, 0); (D, 1); (E, 0); (F, 0)"

type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
}

// newJudgeServer runs a local OpenAI-compatible chat-completions endpoint
// that answers content to every request, and a judge pointed at it; the
// requests it received are recorded.
func newJudgeServer(t *testing.T, content string) (*chexprompt.Judge, *[]chatRequest) {
	t.Helper()
	var mu sync.Mutex
	reqs := &[]chatRequest{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req chatRequest
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
			return
		}
		mu.Lock()
		*reqs = append(*reqs, req)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-test", "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": content}}},
			"usage": map[string]int{"prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940},
		})
	}))
	t.Cleanup(srv.Close)
	j, err := chexprompt.NewJudge(chexprompt.JudgeConfig{URL: srv.URL + "/v1", Model: "test-judge", APIKey: "sk-test", RatePerMinute: -1})
	if err != nil {
		t.Fatal(err)
	}
	return j, reqs
}
