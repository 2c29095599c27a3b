package scp_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/dicom/scp/scptest"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/internal/testpeers"
	"github.com/radraft/radraft/internal/testserve"
)

func TestMain(m *testing.M) { testserve.Main(m) }

// startProc runs `radraft serve --role=api` with the DICOM listener on
// 127.0.0.1:port and waits until it accepts associations.
func startProc(t *testing.T, dbURL, storage, port string) *testserve.Proc {
	t.Helper()
	addr := "127.0.0.1:" + port
	return testserve.Start(t, nil, addr, "--role=api",
		"--database-url="+dbURL, "--storage-dir="+storage,
		"--dicom-addr="+addr, "--ae-title=RADRAFT",
		"--mllp-addr=", "--http-addr="+testserve.FreeAddr(t))
}

// freePort is a free loopback TCP port number.
func freePort(t *testing.T) string {
	_, port, _ := net.SplitHostPort(testserve.FreeAddr(t))
	return port
}

// storeRun is a storescu run whose -v output is followed line by line.
type storeRun struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	acked map[string]bool // file → answered Success
	tried map[string]bool
	n     int
	out   strings.Builder
	done  chan struct{}
	ackCh chan int
}

func startStorescu(t *testing.T, port string, args ...string) *storeRun {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testpeers.Require(t, "storescu"), append([]string{"-v", "-nh", "-aet", "CRASHTEST", "-aec", "RADRAFT", "127.0.0.1", port}, args...)...)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	sr := &storeRun{cmd: cmd, acked: map[string]bool{}, tried: map[string]bool{}, done: make(chan struct{}), ackCh: make(chan int, 1000)}
	go func() {
		defer close(sr.done)
		sc := bufio.NewScanner(r)
		cur := ""
		for sc.Scan() {
			line := sc.Text()
			sr.mu.Lock()
			sr.out.WriteString(line + "\n")
			if i := strings.Index(line, "Sending file: "); i >= 0 {
				cur = strings.TrimSpace(line[i+len("Sending file: "):])
				sr.tried[cur] = true
			}
			if strings.Contains(line, "Received Store Response (Success)") && cur != "" {
				sr.acked[cur] = true
				sr.n++
				select {
				case sr.ackCh <- sr.n:
				default:
				}
			}
			sr.mu.Unlock()
		}
		cmd.Wait() //nolint:errcheck
	}()
	return sr
}

func (sr *storeRun) waitAcks(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(3 * time.Minute)
	for {
		select {
		case got := <-sr.ackCh:
			if got >= n {
				return
			}
		case <-sr.done:
			t.Fatalf("storescu ended before %d successes\n%s", n, sr.output())
		case <-timeout:
			t.Fatalf("no %d successes in time\n%s", n, sr.output())
		}
	}
}

func (sr *storeRun) output() string {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	return sr.out.String()
}

// checkConsistent asserts: every acknowledged file is indexed and on disk
// with the hash of what was sent; every indexed instance has its file; the
// storage tree holds only complete instance files (none under .tmp).
func checkConsistent(t *testing.T, dbURL, storage string, copies []scptest.Copy, acked map[string]bool) (indexed int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT sop_instance_uid, path, sha256, file_size FROM instances`)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		path, sum string
		size      int64
	}
	idx := map[string]rec{}
	for rows.Next() {
		var sop string
		var r rec
		if err := rows.Scan(&sop, &r.path, &r.sum, &r.size); err != nil {
			t.Fatal(err)
		}
		idx[sop] = r
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	for _, c := range copies {
		if !acked[c.Path] {
			continue
		}
		r, ok := idx[c.SOPInstanceUID]
		if !ok {
			t.Errorf("%s was answered 0000 but is not indexed", filepath.Base(c.Path))
			continue
		}
		_ = r
	}
	for sop, r := range idx {
		b, err := os.ReadFile(filepath.Join(storage, r.path))
		if err != nil {
			t.Errorf("indexed instance %s has no file: %v", sop, err)
			continue
		}
		if int64(len(b)) != r.size {
			t.Errorf("%s: file of %d bytes, indexed %d", r.path, len(b), r.size)
		}
		h := sha256.Sum256(datasetOf(t, b))
		if hex.EncodeToString(h[:]) != r.sum {
			t.Errorf("%s: dataset hash differs from the index", r.path)
		}
	}
	// Only complete instance files are visible: <study>/<series>/<sop>.dcm,
	// .tmp empty.
	filepath.WalkDir(storage, func(p string, d fs.DirEntry, err error) error { //nolint:errcheck
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(storage, p)
		if strings.HasPrefix(rel, ".tmp"+string(filepath.Separator)) {
			t.Errorf("temporary file visible after restart: %s", rel)
		} else if !strings.HasSuffix(rel, ".dcm") || strings.Count(rel, string(filepath.Separator)) != 2 {
			t.Errorf("unexpected file in the storage tree: %s", rel)
		}
		return nil
	})
	return len(idx)
}

// kill -9 in the middle of a 500-file run, restart: every instance answered
// 0000 is on disk and indexed, nothing partial is visible. Then SIGTERM in
// the middle of a run: the C-STORE in flight is finished and answered, the
// server exits cleanly.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 500 CR copies (3.7 GB) and runs radraft serve")
	}
	in := t.TempDir()
	start := time.Now()
	copies, err := scptest.WriteCRCopies(in, 500)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("500 copies written in %v", time.Since(start).Round(time.Millisecond))
	dbURL := draftstest.NewDatabase(t)
	storage := t.TempDir()
	port := freePort(t)
	p := startProc(t, dbURL, storage, port)

	sr := startStorescu(t, port, "+sd", in)
	sr.waitAcks(t, 30)
	// storescu starts the next file at once: kill while it is on the wire.
	time.Sleep(15 * time.Millisecond)
	p.Kill()
	<-sr.done
	sr.mu.Lock()
	acked := sr.acked
	sr.mu.Unlock()
	left, _ := os.ReadDir(filepath.Join(storage, ".tmp"))
	t.Logf("killed after %d successes; %d partial file(s) in .tmp", len(acked), len(left))

	// Restart on the same database and storage: .tmp is cleaned.
	p2 := startProc(t, dbURL, storage, port)
	n := checkConsistent(t, dbURL, storage, copies, acked)
	if n < len(acked) {
		t.Errorf("%d indexed < %d acknowledged", n, len(acked))
	}
	t.Logf("after restart: %d indexed, %d acknowledged", n, len(acked))

	// Graceful stop: SIGTERM while storescu sends the rest.
	sr2 := startStorescu(t, port, "+sd", in)
	sr2.waitAcks(t, 5)
	if err := p2.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p2.Done:
		if p2.Err != nil {
			t.Errorf("radraft serve after SIGTERM: %v\n%s", p2.Err, p2.Log())
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("radraft serve did not stop after SIGTERM")
	}
	<-sr2.done
	sr2.mu.Lock()
	for f := range sr2.acked {
		acked[f] = true
	}
	sr2.mu.Unlock()
	out := sr2.output()
	// Up to the first error (the abort of the idle association by the drain;
	// storescu then fails every remaining file without a connection).
	if i := strings.Index(out, "\nE: "); i >= 0 {
		out = out[:i]
	}
	reqs := strings.Count(out, "Sending Store Request")
	rsps := strings.Count(out, "Received Store Response")
	// The C-STORE in flight at SIGTERM was finished and answered; at most a
	// request begun as the drain aborted the idle association goes unanswered.
	if reqs-rsps > 1 || rsps < 5 {
		t.Errorf("after SIGTERM: %d requests, %d responses\n%s", reqs, rsps, out)
	}
	t.Logf("SIGTERM: %d requests sent, %d answered; exit %v", reqs, rsps, p2.Err)
	checkConsistent(t, dbURL, storage, copies, acked)
}

// Postgres stops taking work in the middle of a run (connections
// terminated, new ones refused): no 0000 for any instance not indexed.
func TestDatabaseLostMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 60 CR copies")
	}
	in := t.TempDir()
	copies, err := scptest.WriteCRCopies(in, 60)
	if err != nil {
		t.Fatal(err)
	}
	dbURL := draftstest.NewDatabase(t)
	ctx := context.Background()
	store, err := drafts.Open(ctx, dbURL, true)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ts := startServerWith(t, store, store, nil)
	sr := startStorescu(t, ts.port(), "+sd", in)
	sr.waitAcks(t, 10)

	dbName := dbURL[strings.LastIndex(dbURL, "/")+1:]
	if i := strings.IndexByte(dbName, '?'); i >= 0 {
		dbName = dbName[:i]
	}
	admin, err := pgx.Connect(ctx, draftstest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{dbName}.Sanitize()+` WITH ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, dbName); err != nil {
		t.Fatal(err)
	}
	<-sr.done
	out := sr.output()
	failures := strings.Count(out, "Refused: OutOfResources") + strings.Count(out, "Store Failed")
	if failures == 0 {
		t.Errorf("no store failed while the database was gone\n%s", out)
	}
	// Back up, and compare what was acknowledged with what is indexed.
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{dbName}.Sanitize()+` WITH ALLOW_CONNECTIONS true`); err != nil {
		t.Fatal(err)
	}
	sr.mu.Lock()
	acked := sr.acked
	sr.mu.Unlock()
	n := checkConsistentIndexOnly(t, dbURL, copies, acked)
	t.Logf("database lost after %d successes: %d acknowledged, %d indexed, %d failures", 10, len(acked), n, failures)
}

func checkConsistentIndexOnly(t *testing.T, dbURL string, copies []scptest.Copy, acked map[string]bool) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	n := 0
	for _, c := range copies {
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM instances WHERE sop_instance_uid = $1)`, c.SOPInstanceUID).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists {
			n++
		}
		if acked[c.Path] && !exists {
			t.Errorf("%s answered 0000 but not indexed", filepath.Base(c.Path))
		}
	}
	return n
}
