package server

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
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
