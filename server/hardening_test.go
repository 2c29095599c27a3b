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
