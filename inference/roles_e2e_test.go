package inference_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/internal/testfiles"
	"github.com/radraft/radraft/internal/testpeers"
	"github.com/radraft/radraft/internal/testserve"
)

// The split deployment (deploy/k8s, compose profile gpu) as two processes
// of the real binary on one database and one storage tree: `serve
// --role=api` receives the testdata CR from DCMTK's storescu (no order:
// the order wait is short) and never loads the model; `serve
// --role=worker` (demo model, CPU) drafts it, and answers /readyz on its
// health listener.
func TestAPIAndWorkerProcesses(t *testing.T) {
	storescu := testpeers.Require(t, "storescu")
	e := newE2E(t)
	ctx, tmp, dbURL := e.ctx, e.tmp, e.dbURL
	common := append(e.env, "RADRAFT_ORDER_WAIT=1s")
	dicomAddr, apiHTTP, workerHTTP := testserve.FreeAddr(t), testserve.FreeAddr(t), testserve.FreeAddr(t)
	// Each process its own node ID, as distinct hosts (pods, containers) get.
	api := testserve.Start(t, append(common, "RADRAFT_NODE_ID=e2e-api", "RADRAFT_DICOM_ADDR="+dicomAddr, "RADRAFT_MLLP_ADDR="+testserve.FreeAddr(t),
		"RADRAFT_HTTP_ADDR="+apiHTTP), apiHTTP, "--role=api")
	defer stopProc(api)
	worker := testserve.Start(t, append(common, "RADRAFT_NODE_ID=e2e-worker", "RADRAFT_HTTP_ADDR="+workerHTTP), workerHTTP, "--role=worker")
	defer stopProc(worker)
	worker.WaitReady(ctx, t, workerHTTP)
	if ready := readyz(t, workerHTTP); ready.Checks["model"] != "ok" || ready.Checks["storage"] != "ok" || ready.Checks["database"] != "ok" {
		t.Fatalf("worker readyz: %+v", ready)
	}
	api.WaitReady(ctx, t, apiHTTP)

	cr, studyUID := copyCR(t, tmp)
	host, port, _ := net.SplitHostPort(dicomAddr)
	if out, err := exec.CommandContext(ctx, storescu, "-aet", "ROLESCU", "-aec", "RADRAFT", host, port, cr).CombinedOutput(); err != nil {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	d := waitDraft(ctx, t, dbURL, studyUID, api, worker)
	if d.findings == "" || d.model != "radraft-demo" || d.state != "drafted" {
		t.Fatalf("draft: %+v", d)
	}
	stopProc(api)
	stopProc(worker)
	if strings.Contains(api.Log(), "model loaded") {
		t.Errorf("the api node loaded the model:\n%s", api.Log())
	}
	if !strings.Contains(worker.Log(), "model loaded") {
		t.Errorf("the worker did not log its model:\n%s", worker.Log())
	}
	for _, l := range []string{"dicom: SCP listening", "hl7: MLLP listening", "http: listening"} {
		if strings.Contains(worker.Log(), l) {
			t.Errorf("the worker runs a listener of the api role (%s):\n%s", l, worker.Log())
		}
	}
}

// e2e is what the end-to-end tests share: a deadline, a temporary folder,
// a fresh database, and the environment of a `radraft serve` on them with
// the demo model (settling after 1 s).
type e2e struct {
	ctx   context.Context
	tmp   string
	dbURL string
	env   []string
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	lib := os.Getenv("RADRAFT_ORT_LIB")
	if lib == "" {
		t.Fatal("RADRAFT_ORT_LIB is not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	e := &e2e{ctx: ctx, tmp: t.TempDir(), dbURL: draftstest.NewDatabase(t)}
	root, _ := filepath.Abs("..")
	e.env = []string{"RADRAFT_DATABASE_URL=" + e.dbURL, "RADRAFT_STORAGE_DIR=" + filepath.Join(e.tmp, "dicom"),
		"RADRAFT_SETTLE_QUIET=1s", "RADRAFT_MODEL_DIR=" + filepath.Join(root, "models/demo"), "RADRAFT_ORT_LIB=" + lib}
	return e
}

func stopProc(p *testserve.Proc) {
	select {
	case <-p.Done:
		return
	default:
	}
	p.Cmd.Process.Signal(os.Interrupt) //nolint:errcheck
	<-p.Done
}

type readiness struct {
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks"`
}

// readyz is what GET http://addr/readyz answers.
func readyz(t *testing.T, addr string) readiness {
	t.Helper()
	r, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var rd readiness
	if err := json.NewDecoder(r.Body).Decode(&rd); err != nil {
		t.Fatal(err)
	}
	return rd
}

// copyCR copies the testdata CR into dir and returns its path and Study
// Instance UID (read with DCMTK's dcmdump).
func copyCR(t *testing.T, dir string) (path, studyUID string) {
	t.Helper()
	path = filepath.Join(dir, "cr.dcm")
	b, err := os.ReadFile(testfiles.CR(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	dump, err := exec.Command(testpeers.Require(t, "dcmdump"), "+P", "0020,000d", "-q", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`\[([0-9.]+)\]`).FindSubmatch(dump)
	if m == nil {
		t.Fatalf("no study UID in %q", dump)
	}
	return path, string(m[1])
}

type storedDraft struct {
	findings, indication, indicationSource, model, state string
	demo                                                 bool
}

// waitDraft waits for the study's AI draft and returns it with the study's
// state; on timeout it fails with the study's state and the logs of procs.
func waitDraft(ctx context.Context, t *testing.T, dbURL, studyUID string, procs ...*testserve.Proc) storedDraft {
	t.Helper()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for {
		var d storedDraft
		err := conn.QueryRow(ctx, `SELECT v.findings, v.indication, v.indication_source, v.model_name,
				(v.timings->>'demo')::bool, s.state
			FROM reports r JOIN report_versions v ON v.report_id = r.id AND v.kind = 'ai_draft'
			JOIN studies s ON s.study_uid = r.study_uid WHERE r.study_uid = $1`, studyUID).
			Scan(&d.findings, &d.indication, &d.indicationSource, &d.model, &d.demo, &d.state)
		if err == nil {
			return d
		}
		if ctx.Err() != nil {
			var st, reason string
			conn.QueryRow(context.Background(), `SELECT state, state_reason FROM studies WHERE study_uid=$1`, studyUID).Scan(&st, &reason) //nolint:errcheck
			var logs strings.Builder
			for _, p := range procs {
				logs.WriteString(p.Log())
			}
			t.Fatalf("no draft: study %q %q\n%s", st, reason, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
