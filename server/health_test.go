package server

import (
	"context"
	"errors"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/radraft/radraft/dicom/pixels"
)

func TestReadyzMetricsAndUI(t *testing.T) {
	modelErr := errors.New("model not loaded")
	e := newEnv(t, func(c *Config) {
		c.Ready = func(context.Context) error { return modelErr }
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	anon := e.anon()
	var ready struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	if r := anon.do("GET", "/readyz", nil, nil, &ready); r.StatusCode != 503 || ready.Ready || ready.Checks["model"] != "model not loaded" || ready.Checks["database"] != "ok" || ready.Checks["storage"] != "ok" {
		t.Fatalf("readyz: %d %+v", r.StatusCode, ready)
	}
	modelErr = nil
	if r := anon.do("GET", "/readyz", nil, nil, nil); r.StatusCode != 200 {
		t.Fatalf("readyz when ready: %d", r.StatusCode)
	}
	os.Chmod(e.dir, 0o500) //nolint:errcheck
	if os.Geteuid() != 0 { // root writes anyway
		if r := anon.do("GET", "/readyz", nil, nil, nil); r.StatusCode != 503 {
			t.Fatalf("readyz with a read-only storage dir: %d", r.StatusCode)
		}
	}
	os.Chmod(e.dir, 0o700) //nolint:errcheck

	e.seedStudy("1.2.5.5", "A55", "M55", "X^Y", "2026-11-02", "Normal.")
	adm := e.login("admin1")
	r := adm.do("GET", "/metrics", nil, nil, nil)
	body := bodyOf(r)
	if r.StatusCode != 200 {
		t.Fatalf("metrics: %d", r.StatusCode)
	}
	for _, want := range []string{
		"radraft_instances_received_total 1", "radraft_orders_total 0", `radraft_reports{status="draft"} 1`,
		"radraft_draft_latency_seconds_count 1", `radraft_http_request_duration_seconds_count{method="GET",route="/readyz",status="503"}`,
		"radraft_hl7_messages_total", "radraft_studies{state=",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "radraft_metrics_db_errors") {
		t.Errorf("a database metric failed:\n%s", body)
	}
	// Queue depth: a queued re-draft shows up.
	rad := e.login("radiologist1")
	rad.do("POST", "/api/v1/studies/1.2.5.5/report/redraft", nil, nil, nil)
	if body := bodyOf(adm.do("GET", "/metrics", nil, nil, nil)); !strings.Contains(body, `radraft_queue_jobs{kind="draft_study",queue="inference",state="available"} 1`) {
		t.Errorf("queue depth missing")
	}

	// The UI (or the note that it is not built) at / and SPA routes; API
	// 404s stay JSON.
	for _, p := range []string{"/", "/worklist", "/studies/1.2.3"} {
		if r := anon.do("GET", p, nil, nil, nil); r.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, r.StatusCode)
		}
	}
	if r := anon.do("GET", "/assets/missing-1234.js", nil, nil, nil); r.StatusCode != 404 {
		t.Errorf("missing asset: %d", r.StatusCode)
	}
	var er errResp
	if r := anon.do("GET", "/api/v1/nope", nil, nil, &er); r.StatusCode != 404 || er.Error.Code != "not_found" {
		t.Errorf("API 404: %d %+v", r.StatusCode, er)
	}
}

func TestPreviewRenderedAndCached(t *testing.T) {
	var renders atomic.Int32
	e := newEnv(t, func(c *Config) {
		c.Render = func(_ context.Context, path string, o RenderOptions) (image.Image, error) {
			renders.Add(1)
			return pixels.RenderFile(path, pixels.RenderOptions{WindowCenter: o.Center, WindowWidth: o.Width, Invert: o.Invert, MaxSize: o.MaxSize})
		}
	})
	const uid = "1.2.6.6"
	e.seedStudy(uid, "A66", "M66", "X^Y", "2026-11-02", "")
	src, err := os.ReadFile("../dicom/pixels/testdata/mono2_u16_window.dcm")
	if err != nil {
		t.Skip("pixels fixture missing:", err)
	}
	if err := os.WriteFile(e.dir+"/"+uid+".dcm", src, 0o600); err != nil {
		t.Fatal(err)
	}
	c := e.login("radiologist1")
	base := "/api/v1/studies/" + uid + "/instances/" + uid + ".1.1/preview"
	r := c.do("GET", base+"?size=64&format=png", nil, nil, nil)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("X-Preview-Cache") != "miss" {
		t.Fatalf("preview: %d %s %s", r.StatusCode, r.Header.Get("Content-Type"), bodyOf(r))
	}
	img, _, err := image.Decode(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() > 64 || b.Dy() > 64 {
		t.Fatalf("size %v", b)
	}
	r = c.do("GET", base+"?size=64&format=png", nil, nil, nil)
	if r.Header.Get("X-Preview-Cache") != "hit" || renders.Load() != 1 {
		t.Fatalf("second preview: cache %s, renders %d", r.Header.Get("X-Preview-Cache"), renders.Load())
	}
	r = c.do("GET", base+"?size=64&format=jpeg&wc=100&ww=400&invert=1", nil, nil, nil)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/jpeg" || renders.Load() != 2 {
		t.Fatalf("windowed jpeg: %d renders %d", r.StatusCode, renders.Load())
	}
	if r := c.do("GET", base+"?ww=-1", nil, nil, nil); r.StatusCode != 400 {
		t.Fatalf("bad ww: %d", r.StatusCode)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action='instance.view_preview'`); n != 3 {
		t.Fatalf("preview audit rows: %d", n)
	}
}
