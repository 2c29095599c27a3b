package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/radraft/radraft/chexprompt"
)

func TestEvalOfflineOnCommittedPairs(t *testing.T) {
	data, err := os.ReadFile("../../chexprompt/testdata/pairs.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := chexprompt.DecodePairs(data)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := scorePairs(context.Background(), chexprompt.NewOffline(), pairs, 3, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(pairs)+1 {
		t.Fatalf("%d lines for %d pairs", len(lines), len(pairs))
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "clinically_significant", "clinically_insignificant", "errors", "engine", "model", "raw", "note"} {
		if _, ok := first[k]; !ok {
			t.Errorf("result line lacks %q: %s", k, lines[0])
		}
	}
	var last struct {
		Agreement chexprompt.Agreement `json:"agreement"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Agreement.N != len(pairs) || last.Agreement.TauTotal <= 0 {
		t.Fatalf("agreement line %s (%v)", lines[len(lines)-1], err)
	}
	if !strings.Contains(errOut.String(), "approximation") {
		t.Errorf("no approximation note: %s", errOut.String())
	}
}

// TestEvalLLMAgainstLocalServer runs `radraft eval --engine llm` against a
// local OpenAI-compatible server: one answer unparseable every time (that
// pair fails, the others are scored and the command reports the failure).
func TestEvalLLMAgainstLocalServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		content := "Clinically significant errors: (A, 1); (B, 0); (C, 0); (D, 0); (E, 0); (F, 0)\nClinically insignificant errors: (A, 0); (B, 0); (C, 0); (D, 0); (E, 0); (F, 0)"
		if strings.Contains(req.Messages[1].Content, "BROKEN") {
			content = "I am not sure."
		}
		json.NewEncoder(w).Encode(map[string]any{"model": "local-judge", "choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": content}}}})
	}))
	defer srv.Close()
	in := filepath.Join(t.TempDir(), "pairs.jsonl")
	os.WriteFile(in, []byte(`{"id":"p1","reference":"No pneumothorax.","candidate":"Right pneumothorax.","human":{"clinically_significant":{"false_positive_finding":1}}}
{"id":"p2","reference":"Lungs clear.","candidate":"Lungs clear.","human":{}}
{"id":"p3","reference":"BROKEN","candidate":"x"}
`), 0o600)
	j, err := chexprompt.NewJudge(chexprompt.JudgeConfig{URL: srv.URL + "/v1", Model: "local-judge", RatePerMinute: -1, MaxAttempts: 2, BaseBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(in)
	pairs, err := chexprompt.DecodePairs(data)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err = scorePairs(context.Background(), j, pairs, 2, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "1 of 3") {
		t.Fatalf("err %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], `"engine":"llm"`) || !strings.Contains(lines[2], `"error"`) || !strings.Contains(lines[3], `"agreement"`) {
		t.Fatalf("output:\n%s", out.String())
	}
	var last struct {
		Agreement chexprompt.Agreement `json:"agreement"`
	}
	json.Unmarshal([]byte(lines[3]), &last)
	if last.Agreement.N != 2 || last.Agreement.ExactMatchPair != 0.5 {
		t.Fatalf("agreement %+v", last.Agreement)
	}
}
