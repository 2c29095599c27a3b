package chexprompt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// JudgeConfig configures the LLM judge. Zero values take the defaults below.
type JudgeConfig struct {
	// URL of the endpoint: a base ("http://vllm:8000/v1") to which
	// "/chat/completions" is added, or the full chat-completions URL (Azure
	// OpenAI: ".../openai/deployments/NAME/chat/completions?api-version=...").
	URL    string
	Model  string
	APIKey string // sent as "Authorization: Bearer" (Azure URLs: "api-key")

	Timeout        time.Duration // per request; default 60s
	MaxAttempts    int           // per evaluation, all causes; default 5
	BaseBackoff    time.Duration // first retry wait, doubled each time; default 1s
	MaxBackoff     time.Duration // cap on one wait, Retry-After included; default 2m
	RatePerMinute  float64       // request starts per minute; default 60; <0 = unlimited
	MaxConcurrency int           // requests in flight; default 4
	MaxTokens      int           // answer budget; default 200

	// Client is the HTTP client (default: a plain one; the per-request
	// timeout comes from Timeout either way).
	Client *http.Client
}

// Judge is the LLM evaluator (engine "llm").
type Judge struct {
	cfg      JudgeConfig
	endpoint string
	azure    bool
	sem      chan struct{}
	offline  *Offline

	mu       sync.Mutex
	nextSlot time.Time
	// sleep waits (replaced in tests).
	sleep func(ctx context.Context, d time.Duration) error
}

// NewJudge validates cfg and returns a judge.
func NewJudge(cfg JudgeConfig) (*Judge, error) {
	if strings.TrimSpace(cfg.URL) == "" {
		return nil, errors.New("chexprompt: judge URL is empty")
	}
	if cfg.Model == "" && !strings.Contains(cfg.URL, "/deployments/") {
		return nil, errors.New("chexprompt: judge model is empty")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Timeout, 60*time.Second)
	def(&cfg.BaseBackoff, time.Second)
	def(&cfg.MaxBackoff, 2*time.Minute)
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.RatePerMinute == 0 {
		cfg.RatePerMinute = 60
	}
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = 4
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = 200
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	endpoint := strings.TrimRight(cfg.URL, "/")
	if !strings.Contains(endpoint, "/chat/completions") {
		endpoint += "/chat/completions"
	}
	return &Judge{
		cfg: cfg, endpoint: endpoint,
		azure:   strings.Contains(endpoint, "/openai/deployments/") || strings.Contains(endpoint, ".openai.azure.com"),
		sem:     make(chan struct{}, cfg.MaxConcurrency),
		offline: NewOffline(),
		sleep:   sleepCtx,
	}, nil
}

func (j *Judge) Engine() string { return EngineLLM }
func (j *Judge) Model() string  { return j.cfg.Model }

// Evaluate asks the judge. Callers strip identifiers first (StripIdentifiers);
// Evaluate itself also strips date- and number-shaped identifiers as a last
// guard. The counts are the judge's; the per-error sentence list comes from
// the offline alignment of the same texts (ErrorsSource "offline").
func (j *Judge) Evaluate(ctx context.Context, reference, candidate string) (*Result, error) {
	reference = StripIdentifiers(reference, Identifiers{})
	candidate = StripIdentifiers(candidate, Identifiers{})
	body, err := json.Marshal(chatRequest{
		Model: j.cfg.Model,
		Messages: []chatMessage{
			{Role: "system", Content: systemPrompt},
			{Role: "user", Content: userPrompt(reference, candidate)},
		},
		Temperature: 0,
		MaxTokens:   j.cfg.MaxTokens,
	})
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 1; attempt <= j.cfg.MaxAttempts; attempt++ {
		answer, model, wait, err := j.once(ctx, body)
		if err == nil {
			sig, insig, perr := ParseAnswer(answer)
			if perr == nil {
				align, _ := j.offline.Evaluate(ctx, reference, candidate)
				if model == "" {
					model = j.cfg.Model
				}
				return &Result{
					ClinicallySignificant: sig, ClinicallyInsignificant: insig,
					Errors: align.Errors, ErrorsSource: EngineOffline,
					ReferenceSentences: align.ReferenceSentences, CandidateSentences: align.CandidateSentences,
					Engine: EngineLLM, Model: model,
					Note: "counts by the LLM judge (" + PromptVersion + "); error sentences located by the offline alignment",
					Raw:  answer,
				}, nil
			}
			err = perr
		}
		var perm *permanentError
		if errors.As(err, &perm) || ctx.Err() != nil {
			return nil, err
		}
		lastErr = err
		if attempt == j.cfg.MaxAttempts {
			break
		}
		if wait <= 0 {
			wait = j.cfg.BaseBackoff << (attempt - 1)
			wait += time.Duration(rand.Int64N(int64(wait)/4 + 1)) // jitter
		}
		if wait > j.cfg.MaxBackoff {
			wait = j.cfg.MaxBackoff
		}
		if err := j.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("chexprompt: judge failed after %d attempts: %w", j.cfg.MaxAttempts, lastErr)
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model       string        `json:"model,omitempty"`
	Messages    []chatMessage `json:"messages"`
	Temperature float64       `json:"temperature"`
	MaxTokens   int           `json:"max_tokens,omitempty"`
}

type chatResponse struct {
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// StatusError is an HTTP answer other than 200.
type StatusError struct {
	Status int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("chexprompt: judge answered HTTP %d", e.Status)
}

// once makes one request under the rate and concurrency limits. wait > 0 is
// the server's Retry-After.
func (j *Judge) once(ctx context.Context, body []byte) (answer, model string, wait time.Duration, err error) {
	if err := j.acquire(ctx); err != nil {
		return "", "", 0, err
	}
	defer func() { <-j.sem }()
	rctx, cancel := context.WithTimeout(ctx, j.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, j.endpoint, bytes.NewReader(body))
	if err != nil {
		return "", "", 0, &permanentError{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if j.cfg.APIKey != "" {
		if j.azure {
			req.Header.Set("api-key", j.cfg.APIKey)
		} else {
			req.Header.Set("Authorization", "Bearer "+j.cfg.APIKey)
		}
	}
	resp, err := j.cfg.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", "", 0, ctx.Err()
		}
		return "", "", 0, fmt.Errorf("chexprompt: judge request: %w", err) // includes our timeout
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", 0, fmt.Errorf("chexprompt: judge response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		serr := &StatusError{Status: resp.StatusCode}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
			return "", "", retryAfter(resp.Header, time.Now()), serr
		default:
			// 400, 401, 403, 404: asking again will not help.
			return "", "", 0, &permanentError{serr}
		}
	}
	var cr chatResponse
	if err := json.Unmarshal(data, &cr); err != nil {
		return "", "", 0, fmt.Errorf("chexprompt: judge response is not JSON: %w", err)
	}
	if cr.Error != nil {
		return "", "", 0, fmt.Errorf("chexprompt: judge error: %s", cr.Error.Message)
	}
	if len(cr.Choices) == 0 {
		return "", "", 0, errors.New("chexprompt: judge response has no choices")
	}
	return cr.Choices[0].Message.Content, cr.Model, 0, nil
}

// acquire waits for a concurrency slot and a rate slot.
func (j *Judge) acquire(ctx context.Context) error {
	select {
	case j.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if j.cfg.RatePerMinute > 0 {
		interval := time.Duration(float64(time.Minute) / j.cfg.RatePerMinute)
		j.mu.Lock()
		now := time.Now()
		slot := j.nextSlot
		if slot.Before(now) {
			slot = now
		}
		j.nextSlot = slot.Add(interval)
		j.mu.Unlock()
		if d := time.Until(slot); d > 0 {
			if err := j.sleep(ctx, d); err != nil {
				<-j.sem
				return err
			}
		}
	}
	return nil
}

// retryAfter reads Retry-After (seconds or an HTTP date); 0 when absent.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		// Azure OpenAI and some proxies also send milliseconds.
		if ms, err := strconv.Atoi(strings.TrimSpace(h.Get("retry-after-ms"))); err == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
