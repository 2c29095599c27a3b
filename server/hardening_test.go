package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
)

// A handler's panic answers JSON 500, logs only its type and place (no
// request data), counts it, and the server goes on.
func TestHandlerPanicIsJSON500WithoutPHI(t *testing.T) {
	var logBuf bytes.Buffer
	e := newEnv(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logBuf, nil)) })
	e.srv.Engine().GET("/api/v1/test-panic", func(c *gin.Context) {
		panic(errors.New("failed on patient " + c.Query("name")))
	})
	var er errResp
	r := e.anon().do("GET", "/api/v1/test-panic?name=DOE%5EJOHN", nil, nil, &er)
	if r.StatusCode != 500 || er.Error.Code != "internal" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("panic: %d %q %+v", r.StatusCode, r.Header.Get("Content-Type"), er)
	}
	if strings.Contains(logBuf.String(), "DOE") {
		t.Errorf("the log holds request data: %s", logBuf.String())
	}
	if !strings.Contains(logBuf.String(), "panic recovered") {
		t.Errorf("not logged: %s", logBuf.String())
	}
	if r := e.anon().do("GET", "/healthz", nil, nil, nil); r.StatusCode != 200 {
		t.Fatalf("after the panic: %d", r.StatusCode)
	}
	adm := e.login("admin1")
	if body := bodyOf(adm.do("GET", "/metrics", nil, nil, nil)); !strings.Contains(body, `radraft_panics_recovered_total{component="http"}`) {
		t.Errorf("the panic is not in the metrics")
	}
}

// parallelLogins sends n logins at once (user i from userOf(i)) and counts
// the answers by status; every 429 must carry Retry-After.
func parallelLogins(t *testing.T, e *env, n int, userOf func(int) string) map[int]int {
	t.Helper()
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body, _ := json.Marshal(map[string]string{"username": userOf(i), "password": "not the password"})
			<-start
			resp, err := http.Post(e.ts.URL+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			mu.Lock()
			counts[resp.StatusCode]++
			mu.Unlock()
		}(i)
	}
	close(start)
	wg.Wait()
	return counts
}

// The login limits hold under concurrency: 40 wrong passwords at once for
// one user check 5 passwords (401) and refuse the rest (429); 40 unknown
// users at once from one address check 30.
func TestLoginLimitsHoldUnderConcurrency(t *testing.T) {
	e := newEnv(t, nil)
	c := parallelLogins(t, e, 40, func(int) string { return "radiologist1" })
	if c[401] != 5 || c[429] != 35 {
		t.Fatalf("one user: %v; want 5 × 401 and 35 × 429", c)
	}
	e = newEnv(t, nil)
	c = parallelLogins(t, e, 40, func(i int) string { return fmt.Sprintf("nobody%d", i) })
	if c[401] != 30 || c[429] != 10 {
		t.Fatalf("one address: %v; want 30 × 401 and 10 × 429", c)
	}
}

// /readyz tells anyone what is not ready, never the error (a DSN's user,
// database and host); the error goes to the log.
func TestReadyzHidesTheDatabaseError(t *testing.T) {
	var logBuf bytes.Buffer
	e := newEnv(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logBuf, nil)) })
	e.store.Close() // the pool is gone: every query fails with pgx's error
	var ready struct {
		Checks map[string]string `json:"checks"`
	}
	r := e.anon().do("GET", "/readyz", nil, nil, &ready)
	if r.StatusCode != 503 || ready.Checks["database"] != "database unreachable" {
		t.Fatalf("readyz: %d %+v", r.StatusCode, ready.Checks)
	}
	if !strings.Contains(logBuf.String(), "check=database") {
		t.Errorf("the database error is not logged: %s", logBuf.String())
	}
}

// Every answer carries the security headers; the UI's still works under
// them (web/e2e runs it in chromium with this policy).
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, nil)
	for _, p := range []string{"/", "/api/v1/auth/me", "/healthz"} {
		r := e.anon().do("GET", p, nil, nil, nil)
		h := r.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			strings.Contains(csp, "unsafe-inline") || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: CSP %q, nosniff %q, referrer %q", p, csp, h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
		}
	}
}

// Bad input is a 4xx JSON error, never a 500: a JSON body under another
// Content-Type (415, login included), a NUL in a query, a path or a body
// (400), an empty or blank report (422, saved or signed).
func TestBadInputIs4xx(t *testing.T) {
	e := newEnv(t, nil)
	const uid = "1.2.826.0.1.3680043.8.498.99"
	e.seedStudy(uid, "ACC99", "MRN99", "DOE^JANE", "2026-11-20", "No effusion.")
	rad := e.login("radiologist1")
	login, _ := json.Marshal(map[string]string{"username": "radiologist1", "password": testPassword})
	report := "/api/v1/studies/" + uid + "/report"
	for _, c := range []struct {
		who          *client
		method, path string
		body         []byte
		hdr          map[string]string
		status       int
		code         string
	}{
		{e.anon(), "POST", "/api/v1/auth/login", login, map[string]string{"Content-Type": "text/plain"}, 415, "unsupported_media_type"},
		{e.anon(), "POST", "/api/v1/auth/login", login, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{rad, "PUT", report, []byte(`{"findings":"x"}`), map[string]string{"Content-Type": "text/plain", "If-Match": `"v1"`}, 415, "unsupported_media_type"},
		{rad, "GET", "/api/v1/worklist?q=%00", nil, nil, 400, "bad_request"},
		{rad, "GET", "/api/v1/worklist?q=%ff", nil, nil, 400, "bad_request"},
		{rad, "GET", "/api/v1/studies/1.2%00.3/report", nil, nil, 400, "bad_request"},
		{rad, "PUT", report, []byte(`{"findings":"No effusion.\u0000"}`), map[string]string{"If-Match": `"v1"`}, 400, "bad_request"},
		{e.anon(), "POST", "/api/v1/auth/login", []byte(`{"username":"radiologist1\u0000","password":"x"}`), nil, 400, "bad_request"},
		{rad, "PUT", report, []byte(`{"findings":""}`), map[string]string{"If-Match": `"v1"`}, 422, "empty_report"},
		{rad, "PUT", report, []byte(`{"findings":" \n\t "}`), map[string]string{"If-Match": `"v1"`}, 422, "empty_report"},
		{rad, "POST", report + "/sign", []byte(`{"findings":"  "}`), map[string]string{"If-Match": `"v1"`}, 422, "empty_report"},
	} {
		var er errResp
		r := c.who.do(c.method, c.path, c.body, c.hdr, &er)
		if r.StatusCode != c.status || er.Error.Code != c.code {
			t.Errorf("%s %s %q: %d %+v, want %d %s", c.method, c.path, c.body, r.StatusCode, er, c.status, c.code)
		}
	}
	// Nothing was saved; a good edit still is.
	var rep reportResp
	if r := rad.do("PUT", report, []byte(`{"findings":"Small left effusion."}`), map[string]string{"If-Match": `"v1"`}, &rep); r.StatusCode != 200 || rep.CurrentVersion != 2 {
		t.Fatalf("good edit: %d v%d", r.StatusCode, rep.CurrentVersion)
	}
}
