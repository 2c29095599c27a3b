package dicomweb_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/radraft/radraft/audit"
	"github.com/radraft/radraft/auth"
	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/dicom/scp"
	"github.com/radraft/radraft/dicomweb"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/internal/testpeers"
	"github.com/radraft/radraft/qa"
	"github.com/radraft/radraft/server"
)

func TestMain(m *testing.M) {
	auth.Argon2Params.Time, auth.Argon2Params.MemoryKiB, auth.Argon2Params.Threads = 1, 1024, 1
	os.Exit(m.Run())
}

// env is radraft's DICOM listener and HTTP server with DICOMweb mounted,
// on a fresh database and storage tree, as `radraft serve` wires them.
type env struct {
	t       testing.TB
	store   *drafts.Store
	scp     *scp.Server
	dicom   string // host:port of the SCP
	http    *httptest.Server
	storage string
	tokens  map[string]string // role -> bearer token
}

func newEnv(t testing.TB) *env {
	t.Helper()
	store := draftstest.New(t)
	dir := t.TempDir()
	storage, err := scp.OpenStorage(dir)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// SOP classes named, not the default list: the STOW-RS tests rely on an
	// SR being refused (0122).
	srv := scp.New(scp.Config{AETitle: "RADRAFT", Logger: quiet, SOPClasses: []string{dicom.CRImageStorage}}, storage, store)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx) //nolint:errcheck
	})
	svc := &dicomweb.Service{Store: store, StorageDir: dir, Ingest: srv, Logger: quiet}
	hs, err := server.New(server.Config{Store: store, Auth: auth.New(store.DB()), QA: qa.New(store.DB()), Audit: audit.New(store.DB()), StorageDir: dir, Logger: quiet, DICOMweb: func(m server.DICOMwebMount) {
		svc.Routes(dicomweb.Mount{Group: m.Group, Read: m.Read, Write: m.Write, Audit: m.Audit, Actor: m.Actor})
	}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(hs.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, store: store, scp: srv, dicom: ln.Addr().String(), http: ts, storage: dir, tokens: map[string]string{}}
	for _, r := range auth.Roles {
		if _, err := auth.New(store.DB()).CreateUser(context.Background(), r+"1", r, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		tok, _, err := auth.New(store.DB()).CreateAPIToken(context.Background(), r+"1", "test")
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[r] = tok
	}
	return e
}

// storescu sends files to the SCP with DCMTK's storescu.
func (e *env) storescu(files ...string) {
	e.t.Helper()
	host, port, _ := net.SplitHostPort(e.dicom)
	args := append([]string{"-aec", "RADRAFT", "-aet", "TESTSCU", host, port}, files...)
	if out, err := exec.Command(testpeers.Require(e.t, "storescu"), args...).CombinedOutput(); err != nil {
		e.t.Fatalf("storescu: %v\n%s", err, out)
	}
}

// get does an authenticated GET as role ("" = anonymous).
func (e *env) get(role, path, accept string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.http.URL+path, nil)
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { r.Body.Close() })
	return r
}

// variant copies the real CR with new UIDs and patient attributes (DCMTK's
// dcmodify), for instances of other studies.
func variant(t testing.TB, src, dir string, n int, extra ...string) string {
	t.Helper()
	dst := filepath.Join(dir, fmt.Sprintf("v%d.dcm", n))
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	uid := func(k int) string { return fmt.Sprintf("1.2.826.0.1.3680043.10.1423.96.%d.%d", n, k) }
	args := []string{"-nb", "-m", "(0020,000D)=" + uid(1), "-m", "(0020,000E)=" + uid(2), "-m", "(0008,0018)=" + uid(3),
		"-m", "(0010,0020)=VAR" + strconv.Itoa(n)} // dcmodify updates (0002,0003) itself
	for _, x := range extra {
		args = append(args, "-i", x)
	}
	if out, err := exec.Command(testpeers.Require(t, "dcmodify"), append(args, dst)...).CombinedOutput(); err != nil {
		t.Fatalf("dcmodify: %v\n%s", err, out)
	}
	return dst
}

// multipartBody builds a STOW-RS body from parts (each a Part 10 file's bytes).
func multipartBody(parts ...[]byte) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "application/dicom")
		pw, _ := w.CreatePart(h)
		pw.Write(p) //nolint:errcheck
	}
	w.Close()
	return `multipart/related; type="application/dicom"; boundary=` + w.Boundary(), &buf
}

// readParts reads a multipart/related response into its parts.
func readParts(t testing.TB, r *http.Response) (string, [][]byte) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/related" {
		t.Fatalf("content type %q", r.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var out [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return params["type"], out
}

func (e *env) countRows(q string) int {
	e.t.Helper()
	var n int
	if err := e.store.DB().QueryRow(context.Background(), q).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}
