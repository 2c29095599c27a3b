package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/radraft/radraft/audit"
	"github.com/radraft/radraft/auth"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/internal/testserve"
	"github.com/radraft/radraft/qa"
)

func TestMain(m *testing.M) {
	// Cheap hashes: the tests log in many times on a shared 2-core machine.
	auth.Argon2Params.Time, auth.Argon2Params.MemoryKiB, auth.Argon2Params.Threads = 1, 1024, 1
	testserve.Main(m) // removes the binary hostile_test.go built
}

const testPassword = "correct horse battery"

type env struct {
	t     *testing.T
	store *drafts.Store
	srv   *Server
	ts    *httptest.Server
	dir   string
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	store := draftstest.New(t)
	dir := t.TempDir()
	cfg := Config{Store: store, Auth: auth.New(store.DB()), QA: qa.New(store.DB()), Audit: audit.New(store.DB()), StorageDir: dir, ResultsOut: true}
	if !testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, store: store, srv: srv, ts: ts, dir: dir}
	for _, r := range auth.Roles {
		if _, err := auth.New(store.DB()).CreateUser(context.Background(), r+"1", r, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// client is a browser-like client: cookie jar plus the CSRF token.
type client struct {
	e     *env
	hc    *http.Client
	csrf  string
	token string // bearer instead of the cookie
}

func (e *env) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar}}
}

func (e *env) login(user string) *client {
	e.t.Helper()
	c := e.anon()
	var out struct {
		CSRFToken string `json:"csrf_token"`
	}
	resp := c.do("POST", "/api/v1/auth/login", map[string]string{"username": user, "password": testPassword}, nil, &out)
	if resp.StatusCode != 200 || out.CSRFToken == "" {
		e.t.Fatalf("login %s: %d", user, resp.StatusCode)
	}
	c.csrf = out.CSRFToken
	return c
}

// do sends a request; body is JSON-encoded unless it is []byte; out, when
// not nil, receives the decoded JSON answer.
func (c *client) do(method, path string, body any, hdr map[string]string, out any) *http.Response {
	c.e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.e.ts.URL+path, r)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set(CSRFHeader, c.csrf)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			c.e.t.Fatalf("%s %s: %d: decode %q: %v", method, path, resp.StatusCode, data, err)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return resp
}

func bodyOf(r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

// seedStudy inserts a settled study with one frontal instance (a file in
// the storage dir) and, when aiText is not empty, its AI draft.
func (e *env) seedStudy(uid, accession, mrn, name, date, aiText string) {
	e.t.Helper()
	draftstest.MustExec(e.t, e.store, `INSERT INTO studies (study_uid, accession_number, patient_id, patient_name, study_date, state,
		settled_at, frontal_sop_instance_uid, view_reason, dicom_indication, dicom_indication_source, instance_count)
		VALUES ($1,$2,$3,$4,$5::date,'ready',now(),$1||'.1.1','ViewPosition PA','cough','(0040,1002)',1)`, uid, accession, mrn, name, date)
	draftstest.MustExec(e.t, e.store, `INSERT INTO series (series_uid, study_uid, modality) VALUES ($1||'.1', $1, 'CR')`, uid)
	draftstest.MustExec(e.t, e.store, `INSERT INTO instances (sop_instance_uid, sop_class_uid, series_uid, study_uid, transfer_syntax_uid,
		path, file_size, dataset_size, sha256, view_position, rows_, columns_) VALUES ($1||'.1.1','1.2.840.10008.5.1.4.1.1.1',$1||'.1',$1,'1.2.840.10008.1.2.1',
		$1||'.dcm',4,4,'x','PA',2140,1760)`, uid)
	if err := os.WriteFile(e.dir+"/"+uid+".dcm", []byte("DICM"), 0o600); err != nil {
		e.t.Fatal(err)
	}
	if aiText != "" {
		if _, _, err := e.store.SaveAIDraft(context.Background(), drafts.AIDraft{StudyUID: uid, Findings: aiText,
			ModelName: "demo", ModelVersion: "0", Indication: "cough", IndicationSource: "dicom:(0040,1002)"}); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.store.DB().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}
