package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/internal/testserve"
)

// hostileSession is a logged-in radiologist of the real binary.
type hostileSession struct {
	addr, cookie, csrf, study string
}

// startHostileTarget runs the real binary (role api) on a fresh database
// with a radiologist and a study with an AI draft, and logs in.
func startHostileTarget(t *testing.T) (*testserve.Proc, hostileSession) {
	t.Helper()
	dbURL := draftstest.NewDatabase(t)
	addr := testserve.FreeAddr(t)
	p := testserve.Start(t, []string{"RADRAFT_DATABASE_URL=" + dbURL, "RADRAFT_ROLE=api", "RADRAFT_HTTP_ADDR=" + addr,
		"RADRAFT_MLLP_ADDR=" + testserve.FreeAddr(t), "RADRAFT_DICOM_ADDR=" + testserve.FreeAddr(t),
		"RADRAFT_STORAGE_DIR=" + t.TempDir()}, addr)
	add := exec.Command(testserve.Binary(t), "user", "add", "--username", "rad1", "--role", "radiologist")
	add.Env = append(os.Environ(), "RADRAFT_DATABASE_URL="+dbURL)
	add.Stdin = strings.NewReader("rad1-password-hostile\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	s := hostileSession{addr: addr, study: "1.2.826.0.1.3680043.8.498.777"}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`INSERT INTO studies (study_uid, state, settled_at, instance_count) VALUES ($1, 'drafted', now(), 1)`,
		`INSERT INTO reports (id, study_uid, status, current_version, ai_version) VALUES (gen_random_uuid(), $1, 'draft', 1, 1)`,
		`INSERT INTO report_versions (report_id, version, kind, author, findings) SELECT id, 1, 'ai_draft', 'ai', 'No effusion.' FROM reports WHERE study_uid = $1`,
	} {
		if _, err := conn.Exec(ctx, q, s.study); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.Post("http://"+addr+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"username":"rad1","password":"rad1-password-hostile"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sess struct {
		CSRFToken string `json:"csrf_token"`
	}
	json.NewDecoder(resp.Body).Decode(&sess) //nolint:errcheck
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			s.cookie = c.Name + "=" + c.Value
		}
	}
	s.csrf = sess.CSRFToken
	if resp.StatusCode != 200 || s.cookie == "" {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	return p, s
}

var repeatPlaceholder = regexp.MustCompile(`\{\{REPEAT:(.):(\d+)\}\}`)

// request makes the raw request of a corpus file: LF line ends become CRLF
// in the head, placeholders are filled, Content-Length is counted.
func (s hostileSession) request(raw []byte) []byte {
	head, body, _ := bytes.Cut(raw, []byte("\n\n"))
	fill := func(b []byte) []byte {
		b = repeatPlaceholder.ReplaceAllFunc(b, func(m []byte) []byte {
			sm := repeatPlaceholder.FindSubmatch(m)
			n, _ := strconv.Atoi(string(sm[2]))
			return bytes.Repeat(sm[1], n)
		})
		r := strings.NewReplacer("{{HOST}}", s.addr, "{{COOKIE}}", s.cookie, "{{CSRF}}", s.csrf, "{{STUDY}}", s.study)
		return []byte(r.Replace(string(b)))
	}
	body = fill(body)
	head = bytes.ReplaceAll(fill(head), []byte("{{LEN}}"), []byte(strconv.Itoa(len(body))))
	out := bytes.ReplaceAll(head, []byte("\n"), []byte("\r\n"))
	return append(append(out, "\r\n\r\n"...), body...)
}

// TestHostileHTTPCorpus sends testdata/hostile/*.http to the real binary as
// raw bytes: each gets its expected status (and JSON error code), the
// session still works after each, and the process survives.
func TestHostileHTTPCorpus(t *testing.T) {
	files := testserve.Corpus(t, "testdata/hostile/*.http", 15)
	p, s := startHostileTarget(t)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".http")
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var want struct {
			Status int    `json:"status"`
			Code   string `json:"code"`
		}
		js, err := os.ReadFile(strings.TrimSuffix(f, ".http") + ".json")
		if err != nil || json.Unmarshal(js, &want) != nil {
			t.Fatalf("%s: expectation: %v", name, err)
		}
		status, ctype, body := s.send(t, s.request(raw))
		var er struct {
			Error struct{ Code string } `json:"error"`
		}
		json.Unmarshal(body, &er) //nolint:errcheck
		if status != want.Status || want.Code != "" && (er.Error.Code != want.Code || !strings.HasPrefix(ctype, "application/json")) {
			t.Errorf("%s: %d %s %.200s; want %d %s", name, status, ctype, body, want.Status, want.Code)
		}
		for _, secret := range []string{"user=", "database=", "127.0.0.1:5432", "rad1-password"} {
			if bytes.Contains(body, []byte(secret)) {
				t.Errorf("%s: the answer shows %q", name, secret)
			}
		}
		t.Logf("%s: %d %s", name, status, er.Error.Code)
		get := []byte("GET /api/v1/worklist HTTP/1.1\nHost: {{HOST}}\nCookie: {{COOKIE}}\nConnection: close\n\n")
		if st, _, b := s.send(t, s.request(get)); st != 200 {
			t.Fatalf("after %s the worklist answers %d %.200s\n%s", name, st, b, p.Log())
		}
	}
	select {
	case <-p.Done:
		t.Fatalf("radraft exited: %v", p.Err)
	default:
	}
}

// send writes one raw request and reads the answer's status, content type
// and body (0 when the server closed without a valid answer).
func (s hostileSession) send(t *testing.T, req []byte) (int, string, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck
	go c.Write(req)                                 //nolint:errcheck
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}
