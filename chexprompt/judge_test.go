package chexprompt

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeJudge is a local OpenAI-compatible chat-completions server: it decodes
// the real request body and answers in the real response shape. Each request
// is answered by the next step; the last step repeats.
type fakeJudge struct {
	t     *testing.T
	mu    sync.Mutex
	steps []func(w http.ResponseWriter, req chatRequest)
	calls int
	reqs  []chatRequest
	auth  []string
}

func (f *fakeJudge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
		return
	}
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	i := f.calls
	f.calls++
	f.reqs = append(f.reqs, req)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	step := f.steps[min(i, len(f.steps)-1)]
	f.mu.Unlock()
	step(w, req)
}

func answer(content string) func(http.ResponseWriter, chatRequest) {
	return func(w http.ResponseWriter, req chatRequest) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-test", "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": content}}},
			"usage": map[string]int{"prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940},
		})
	}
}

func status(code int, retryAfter string) func(http.ResponseWriter, chatRequest) {
	return func(w http.ResponseWriter, _ chatRequest) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write([]byte(`{"error":{"message":"test error","type":"server_error"}}`))
	}
}

const goodAnswer = "Clinically significant errors: (A, 1); (B, 0); (C, 0); (D, 0); (E, 0); (F, 0)\nClinically insignificant errors: (A, 0); (B, 2); (C, 0); (D, 1); (E, 0); (F, 0)"

// newTestJudge returns a judge on a fake server; its waits are recorded
// instead of slept.
func newTestJudge(t *testing.T, f *fakeJudge, mod func(*JudgeConfig)) (*Judge, *[]time.Duration) {
	t.Helper()
	f.t = t
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := JudgeConfig{URL: srv.URL + "/v1", Model: "test-judge", APIKey: "sk-test", RatePerMinute: -1, BaseBackoff: 10 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	j, err := NewJudge(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	waits := &[]time.Duration{}
	j.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	return j, waits
}

func TestJudgeWellFormedBothBracketStyles(t *testing.T) {
	for name, content := range map[string]string{
		"round":  goodAnswer,
		"square": "Clinically significant errors: [A, 1], [B, 0], [C, 0], [D, 0], [E, 0], [F, 0]\nClinically insignificant errors: [A, 0], [B, 2], [C, 0], [D, 1], [E, 0], [F, 0]",
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeJudge{steps: []func(http.ResponseWriter, chatRequest){answer(content)}}
			j, _ := newTestJudge(t, f, nil)
			r, err := j.Evaluate(context.Background(), "Small left pleural effusion. Mild atelectasis.", "Right pneumothorax.")
			if err != nil {
				t.Fatal(err)
			}
			if r.ClinicallySignificant != (Counts{FalsePositiveFinding: 1}) || r.ClinicallyInsignificant != (Counts{OmissionFinding: 2, IncorrectSeverity: 1}) {
				t.Fatalf("counts %v / %v", r.ClinicallySignificant, r.ClinicallyInsignificant)
			}
			if r.Engine != EngineLLM || r.Model != "test-judge" || r.Raw != content || r.ErrorsSource != EngineOffline {
				t.Fatalf("provenance: %+v", r)
			}
			req := f.reqs[0]
			if req.Temperature != 0 || req.Model != "test-judge" || len(req.Messages) != 2 || req.Messages[0].Role != "system" {
				t.Fatalf("request %+v", req)
			}
			if !strings.Contains(req.Messages[0].Content, "(F) Omission of a comparison") || !strings.Contains(req.Messages[1].Content, "CANDIDATE: Right pneumothorax.") {
				t.Fatalf("prompt does not carry definitions or texts")
			}
			if f.auth[0] != "Bearer sk-test" {
				t.Fatalf("auth header %q", f.auth[0])
			}
		})
	}
}

func TestJudgeProseAroundAnswer(t *testing.T) {
	content := "Sure! Here is my assessment.\n\n**Clinically significant errors:** (a) 1, (b) 0, (c) 0, (d) 0, (e) 0, (f) 0\n**Clinically insignificant errors:** (a) 0, (b) 2, (c) 0, (d) 1, (e) 0, (f) 0\n\nThe candidate invents a pneumothorax."
	f := &fakeJudge{steps: []func(http.ResponseWriter, chatRequest){answer(content)}}
	j, _ := newTestJudge(t, f, nil)
	r, err := j.Evaluate(context.Background(), "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	if r.SignificantTotal() != 1 || r.Total() != 4 || f.calls != 1 {
		t.Fatalf("got %v/%v after %d calls", r.ClinicallySignificant, r.ClinicallyInsignificant, f.calls)
	}
}

func TestJudgeMalformedThenGood(t *testing.T) {
	f := &fakeJudge{steps: []func(http.ResponseWriter, chatRequest){
		answer("The candidate report has one significant error."),
		answer("Clinically significant errors: (A, 1); (B, 0); (C, 0); (D, 0); (E, 0); (F, 0)"), // insignificant line missing
		answer(goodAnswer),
	}}
	j, waits := newTestJudge(t, f, nil)
	r, err := j.Evaluate(context.Background(), "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	if f.calls != 3 || r.Raw != goodAnswer || len(*waits) != 2 {
		t.Fatalf("calls %d waits %v raw %q", f.calls, *waits, r.Raw)
	}
}

func TestJudge429HonoursRetryAfter(t *testing.T) {
	f := &fakeJudge{steps: []func(http.ResponseWriter, chatRequest){status(429, "7"), answer(goodAnswer)}}
	j, waits := newTestJudge(t, f, nil)
	if _, err := j.Evaluate(context.Background(), "a", "b"); err != nil {
		t.Fatal(err)
	}
	if f.calls != 2 || len(*waits) != 1 || (*waits)[0] != 7*time.Second {
		t.Fatalf("calls %d waits %v, want one wait of 7s", f.calls, *waits)
	}
}

func TestJudgeRetryAfterCapped(t *testing.T) {
	f := &fakeJudge{steps: []func(http.ResponseWriter, chatRequest){status(429, "3600"), answer(goodAnswer)}}
	j, waits := newTestJudge(t, f, func(c *JudgeConfig) { c.MaxBackoff = 30 * time.Second })
	if _, err := j.Evaluate(context.Background(), "a", "b"); err != nil {
		t.Fatal(err)
	}
	if (*waits)[0] != 30*time.Second {
		t.Fatalf("waits %v", *waits)
	}
}

func TestJudge500RetriedThenGivesUp(t *testing.T) {
	f := &fakeJudge{steps: []func(http.ResponseWriter, chatRequest){status(500, "")}}
	j, waits := newTestJudge(t, f, func(c *JudgeConfig) { c.MaxAttempts = 3 })
	_, err := j.Evaluate(context.Background(), "a", "b")
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 500 || f.calls != 3 {
		t.Fatalf("err %v after %d calls", err, f.calls)
	}
	// exponential backoff with jitter: 10ms, 20ms (+ up to 25%)
	if len(*waits) != 2 || (*waits)[0] < 10*time.Millisecond || (*waits)[1] < 20*time.Millisecond || (*waits)[1] > 25*time.Millisecond {
		t.Fatalf("waits %v", *waits)
	}
}

func TestJudge500ThenGood(t *testing.T) {
	f := &fakeJudge{steps: []func(http.ResponseWriter, chatRequest){status(503, ""), answer(goodAnswer)}}
	j, _ := newTestJudge(t, f, nil)
	if _, err := j.Evaluate(context.Background(), "a", "b"); err != nil || f.calls != 2 {
		t.Fatalf("err %v calls %d", err, f.calls)
	}
}

func TestJudge401NotRetried(t *testing.T) {
	f := &fakeJudge{steps: []func(http.ResponseWriter, chatRequest){status(401, "")}}
	j, _ := newTestJudge(t, f, nil)
	_, err := j.Evaluate(context.Background(), "a", "b")
	if err == nil || f.calls != 1 {
		t.Fatalf("err %v calls %d", err, f.calls)
	}
}

func TestJudgeTimeout(t *testing.T) {
	var slow atomic.Bool
	slow.Store(true)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f := &fakeJudge{steps: []func(http.ResponseWriter, chatRequest){
		func(w http.ResponseWriter, req chatRequest) {
			select { // hang past the client's timeout
			case <-release:
			case <-time.After(2 * time.Second):
			}
		},
		answer(goodAnswer),
	}}
	j, _ := newTestJudge(t, f, func(c *JudgeConfig) { c.Timeout = 150 * time.Millisecond })
	start := time.Now()
	r, err := j.Evaluate(context.Background(), "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	if f.calls != 2 || r.SignificantTotal() != 1 || time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("calls %d in %v", f.calls, time.Since(start))
	}
}

func TestJudgeConcurrencyLimit(t *testing.T) {
	var inFlight, peak atomic.Int32
	f := &fakeJudge{steps: []func(http.ResponseWriter, chatRequest){func(w http.ResponseWriter, req chatRequest) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		inFlight.Add(-1)
		answer(goodAnswer)(w, req)
	}}}
	j, _ := newTestJudge(t, f, func(c *JudgeConfig) { c.MaxConcurrency = 2 })
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := j.Evaluate(context.Background(), "a", "b"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if peak.Load() > 2 || f.calls != 6 {
		t.Fatalf("peak %d calls %d", peak.Load(), f.calls)
	}
}

func TestJudgeRateLimit(t *testing.T) {
	f := &fakeJudge{steps: []func(http.ResponseWriter, chatRequest){answer(goodAnswer)}}
	j, waits := newTestJudge(t, f, func(c *JudgeConfig) { c.RatePerMinute = 60 })
	for i := 0; i < 3; i++ {
		if _, err := j.Evaluate(context.Background(), "a", "b"); err != nil {
			t.Fatal(err)
		}
	}
	// 60/min: the 2nd and 3rd request starts wait about 1s and 2s.
	if len(*waits) != 2 || (*waits)[0] < 900*time.Millisecond || (*waits)[1] < 1900*time.Millisecond {
		t.Fatalf("waits %v", *waits)
	}
}

func TestJudgeStripsIdentifiersBeforeSending(t *testing.T) {
	f := &fakeJudge{steps: []func(http.ResponseWriter, chatRequest){answer(goodAnswer)}}
	j, _ := newTestJudge(t, f, nil)
	ref := StripIdentifiers("Comparison: 03/14/2025. Patient DOE^JANE MRN 12345678. Small effusion.", Identifiers{PatientName: "DOE^JANE", PatientID: "12345678"})
	if _, err := j.Evaluate(context.Background(), ref, "Dr. Smith was called at 555-1234567. No effusion."); err != nil {
		t.Fatal(err)
	}
	sent := f.reqs[0].Messages[1].Content
	for _, phi := range []string{"DOE", "JANE", "12345678", "03/14/2025", "Smith", "1234567"} {
		if strings.Contains(sent, phi) {
			t.Errorf("%q left in %q", phi, sent)
		}
	}
	if !strings.Contains(sent, "Small effusion") || !strings.Contains(sent, "No effusion") {
		t.Errorf("clinical text lost: %q", sent)
	}
}

func TestJudgeAzureHeader(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("api-key") + "|" + r.Header.Get("Authorization") + "|" + r.URL.Path + "?" + r.URL.RawQuery
		answer(goodAnswer)(w, chatRequest{})
	}))
	defer srv.Close()
	j, err := NewJudge(JudgeConfig{URL: srv.URL + "/openai/deployments/gpt4/chat/completions?api-version=2024-06-01", APIKey: "k", RatePerMinute: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Evaluate(context.Background(), "a", "b"); err != nil {
		t.Fatal(err)
	}
	if got != "k||/openai/deployments/gpt4/chat/completions?api-version=2024-06-01" {
		t.Fatalf("got %q", got)
	}
}
