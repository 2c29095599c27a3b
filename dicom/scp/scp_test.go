package scp_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radraft/radraft/dicom/scp"
	"github.com/radraft/radraft/dicom/scp/scptest"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/internal/testpeers"
)

type testServer struct {
	srv   *scp.Server
	addr  *net.TCPAddr
	dir   string
	store *drafts.Store
	index scp.Index
}

func (ts *testServer) host() string { return ts.addr.IP.String() }
func (ts *testServer) port() string { return strconv.Itoa(ts.addr.Port) }

// startServer runs an SCP on a free port with a fresh database and storage.
func startServer(t *testing.T, mutate func(*scp.Config)) *testServer {
	t.Helper()
	store := newStore(t)
	return startServerWith(t, store, store, mutate)
}

func startServerWith(t testing.TB, store *drafts.Store, index scp.Index, mutate func(*scp.Config)) *testServer {
	t.Helper()
	dir := t.TempDir()
	storage, err := scp.OpenStorage(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := scp.Config{AETitle: "RADRAFT", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if testing.Verbose() {
		cfg.Logger = slog.Default()
	}
	if os.Getenv("RADRAFT_TEST_DEBUG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if mutate != nil {
		mutate(&cfg)
	}
	srv := scp.New(cfg, storage, index)
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
	return &testServer{srv: srv, addr: ln.Addr().(*net.TCPAddr), dir: dir, store: store, index: index}
}

// run runs a DCMTK program and returns its combined output and error.
func run(t *testing.T, prog string, args ...string) (string, error) {
	t.Helper()
	p := testpeers.Require(t, prog)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, p, args...).CombinedOutput()
	return string(out), err
}

func echo(t *testing.T, ts *testServer, callingAE string) (string, error) {
	return run(t, "echoscu", "-v", "-aet", callingAE, "-aec", "RADRAFT", ts.host(), ts.port())
}

func mustEcho(t *testing.T, ts *testServer) {
	t.Helper()
	if out, err := echo(t, ts, "ECHOTEST"); err != nil {
		t.Fatalf("echoscu failed: %v\n%s", err, out)
	}
}

func crPath(t *testing.T) string {
	t.Helper()
	p, err := scptest.CRPath()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// datasetOf returns the bytes after a Part 10 file's group 0002.
func datasetOf(t testing.TB, b []byte) []byte {
	t.Helper()
	if len(b) < 144 || string(b[128:132]) != "DICM" {
		t.Fatalf("not a Part 10 file")
	}
	n := binary.LittleEndian.Uint32(b[140:144])
	return b[144+n:]
}

func countRows(t *testing.T, s *drafts.Store, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEcho(t *testing.T) {
	ts := startServer(t, nil)
	out, err := echo(t, ts, "ECHOTEST")
	if err != nil || !strings.Contains(out, "Received Echo Response (Success)") {
		t.Fatalf("echoscu: %v\n%s", err, out)
	}
}

// The real CR sent by storescu is stored with its dataset byte-identical
// and indexed with the study, series and instance facts.
func TestStoreCRByteIdentical(t *testing.T) {
	ts := startServer(t, nil)
	src := crPath(t)
	out, err := run(t, "storescu", "-v", "-xi", "-aet", "MODALITY", "-aec", "RADRAFT", ts.host(), ts.port(), src)
	if err != nil || !strings.Contains(out, "Received Store Response (Success)") {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	var path, tsUID, sum, callingAE, study, photometric string
	var rows, cols int
	var size, dsSize int64
	err = ts.store.DB().QueryRow(context.Background(), `SELECT path, transfer_syntax_uid, sha256, calling_ae, study_uid,
		photometric, rows_, columns_, file_size, dataset_size FROM instances`).
		Scan(&path, &tsUID, &sum, &callingAE, &study, &photometric, &rows, &cols, &size, &dsSize)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := os.ReadFile(filepath.Join(ts.dir, path))
	if err != nil {
		t.Fatal(err)
	}
	// What storescu sent: DCMTK's storescp in bit-preserving mode (+B)
	// writes the dataset exactly as received (storescu re-encodes 4.dcm:
	// its undefined-length sequences get explicit lengths).
	orig := sentByStorescu(t, src, "-xi")
	if !bytes.Equal(datasetOf(t, stored), datasetOf(t, orig)) {
		t.Fatalf("stored dataset differs from the one sent (%d vs %d bytes)", len(datasetOf(t, stored)), len(datasetOf(t, orig)))
	}
	if int64(len(stored)) != size || int64(len(datasetOf(t, orig))) != dsSize {
		t.Errorf("sizes: file %d (row %d), dataset row %d", len(stored), size, dsSize)
	}
	if tsUID != "1.2.840.10008.1.2" || callingAE != "MODALITY" || photometric != "MONOCHROME1" || rows == 0 || cols == 0 {
		t.Errorf("indexed: ts %q ae %q photometric %q %dx%d", tsUID, callingAE, photometric, rows, cols)
	}
	var desc, pname, state string
	var count int
	if err := ts.store.DB().QueryRow(context.Background(), `SELECT study_description, patient_name, state, instance_count
		FROM studies WHERE study_uid = $1`, study).Scan(&desc, &pname, &state, &count); err != nil {
		t.Fatal(err)
	}
	if desc != "XR CHEST AP ONLY" || pname == "" || state != "receiving" || count != 1 {
		t.Errorf("study: %q %q %q %d", desc, pname, state, count)
	}
	// The file is a valid Part 10 file DCMTK reads, with our meta.
	dump, err := run(t, "dcmdump", "-q", "+P", "0002,0010", "+P", "0002,0016", filepath.Join(ts.dir, path))
	if err != nil || !strings.Contains(dump, "LittleEndianImplicit") || !strings.Contains(dump, "MODALITY") {
		t.Errorf("dcmdump of the stored file: %v\n%s", err, dump)
	}
	// Nothing is left in the temporary directory.
	if ents, _ := os.ReadDir(filepath.Join(ts.dir, ".tmp")); len(ents) != 0 {
		t.Errorf("%d files left in .tmp", len(ents))
	}

	// The same file again: identical bytes, counted as a duplicate.
	if out, err := run(t, "storescu", "-xi", "-aec", "RADRAFT", ts.host(), ts.port(), src); err != nil {
		t.Fatalf("second storescu: %v\n%s", err, out)
	}
	if n := countRows(t, ts.store, `SELECT duplicate_count FROM instances`); n != 1 {
		t.Errorf("duplicate_count = %d, want 1", n)
	}
	// The same SOP instance in another transfer syntax: different bytes,
	// kept aside as a conflict, answered success.
	if out, err := run(t, "storescu", "-xb", "-aec", "RADRAFT", ts.host(), ts.port(), src); err != nil {
		t.Fatalf("third storescu: %v\n%s", err, out)
	}
	var cpath string
	if err := ts.store.DB().QueryRow(context.Background(), `SELECT path FROM instance_conflicts`).Scan(&cpath); err != nil {
		t.Fatalf("conflict row: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ts.dir, cpath)); err != nil {
		t.Errorf("conflict file: %v", err)
	}
	if n := countRows(t, ts.store, `SELECT instance_count FROM studies`); n != 1 {
		t.Errorf("instance_count = %d after re-sends, want 1", n)
	}
}

func TestRejectedAETitles(t *testing.T) {
	ts := startServer(t, func(c *scp.Config) { c.AllowedCallingAETs = []string{"PACS1", "MODALITY"} })
	out, err := echo(t, ts, "INTRUDER")
	if err == nil || !strings.Contains(out, "Calling AE Title Not Recognized") {
		t.Errorf("unknown calling AE: %v\n%s", err, out)
	}
	out, err = run(t, "echoscu", "-aet", "PACS1", "-aec", "SOMEONE", ts.host(), ts.port())
	if err == nil || !strings.Contains(out, "Called AE Title Not Recognized") {
		t.Errorf("wrong called AE: %v\n%s", err, out)
	}
	if out, err := echo(t, ts, "PACS1"); err != nil {
		t.Errorf("allowed AE: %v\n%s", err, out)
	}
}

// Beyond the association limit a transient rejection (source 3, reason 2).
func TestAssociationLimit(t *testing.T) {
	ts := startServer(t, func(c *scp.Config) { c.MaxAssociations = 2 })
	// Hold two associations open with raw connections.
	for i := 0; i < 2; i++ {
		c := associate(t, ts, "HOLDER", nil)
		defer c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for ts.srv.Active() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	out, err := echo(t, ts, "THIRD")
	if err == nil || !strings.Contains(out, "Local Limit Exceeded") {
		t.Errorf("third association: %v\n%s", err, out)
	}
}

// Many files over parallel associations, all stored and indexed.
func TestParallelAssociations(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 24 CR copies")
	}
	ts := startServer(t, nil)
	in := t.TempDir()
	const perDir, dirs = 6, 4
	var all []scptest.Copy
	for d := 0; d < dirs; d++ {
		sub := filepath.Join(in, fmt.Sprint(d), "nested")
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		cs, err := scptest.WriteCRCopies(sub, perDir)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, cs...)
	}
	var wg sync.WaitGroup
	errs := make([]error, dirs)
	outs := make([]string, dirs)
	for d := 0; d < dirs; d++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[d], errs[d] = run(t, "storescu", "+sd", "+r", "-aet", fmt.Sprintf("SCU%d", d), "-aec", "RADRAFT",
				ts.host(), ts.port(), filepath.Join(in, fmt.Sprint(d)))
		}()
	}
	wg.Wait()
	for d := range errs {
		if errs[d] != nil {
			t.Errorf("storescu %d: %v\n%s", d, errs[d], outs[d])
		}
	}
	if n := countRows(t, ts.store, `SELECT count(*) FROM instances`); n != len(all) {
		t.Fatalf("%d instances indexed, want %d", n, len(all))
	}
	for _, c := range all {
		var path string
		if err := ts.store.DB().QueryRow(context.Background(), `SELECT path FROM instances WHERE sop_instance_uid = $1`,
			c.SOPInstanceUID).Scan(&path); err != nil {
			t.Fatalf("instance %s: %v", c.SOPInstanceUID, err)
		}
		if _, err := os.Stat(filepath.Join(ts.dir, path)); err != nil {
			t.Error(err)
		}
	}
}

// sentByStorescu returns the Part 10 file DCMTK's storescp writes in
// bit-preserving mode when storescu sends src with the given options: its
// dataset is exactly the bytes storescu put on the wire.
func sentByStorescu(t *testing.T, src string, opts ...string) []byte {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	out := t.TempDir()
	scp := exec.Command(testpeers.Require(t, "storescp"), "+B", "+xa", "-od", out, "-aet", "ORACLE", port)
	if err := scp.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { scp.Process.Kill(); scp.Wait() }() //nolint:errcheck
	var last error
	for i := 0; i < 50; i++ {
		var o string
		if o, last = run(t, "storescu", append(append([]string{}, opts...), "-aec", "ORACLE", "127.0.0.1", port, src)...); last == nil {
			break
		} else if !strings.Contains(o, "Connection refused") {
			t.Fatalf("storescu to storescp: %v\n%s", last, o)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last != nil {
		t.Fatalf("storescu to storescp: %v", last)
	}
	ents, err := os.ReadDir(out)
	if err != nil || len(ents) != 1 {
		t.Fatalf("storescp wrote %d files (%v)", len(ents), err)
	}
	b, err := os.ReadFile(filepath.Join(out, ents[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every transfer syntax storescu can propose is accepted and stored as
// received (the dataset byte-identical to what storescp +B records).
func TestTransferSyntaxes(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes test images with DCMTK")
	}
	ts := startServer(t, nil)
	work := t.TempDir()
	cr := crPath(t)
	sc := filepath.Join(work, "sc8.dcm") // 8-bit secondary capture
	sc6 := filepath.Join(filepath.Dir(cr), "6.dcm")
	mustRun(t, "dcmconv", "+te", sc6, sc)
	enc := func(name, prog string, args ...string) string {
		out := filepath.Join(work, name)
		mustRun(t, prog, append(args, out)...)
		return out
	}
	jpegBaseline := enc("jpeg50.dcm", "dcmcjpeg", "+eb", sc)
	cases := []struct {
		name, file, opt, want string
	}{
		{"implicit", cr, "-xi", "1.2.840.10008.1.2"},
		// storescu proposes the file's own syntax in a context of its own:
		// an Explicit LE file is sent as such.
		{"explicit-le", enc("crle.dcm", "dcmconv", "+te", cr), "-xe", "1.2.840.10008.1.2.1"},
		{"explicit-be", cr, "-xb", "1.2.840.10008.1.2.2"},
		{"deflated", cr, "-xd", "1.2.840.10008.1.2.1.99"},
		{"jpeg-baseline", jpegBaseline, "-xy", "1.2.840.10008.1.2.4.50"},
		{"jpeg-lossless", enc("jpeg70.dcm", "dcmcjpeg", "+e1", cr), "-xs", "1.2.840.10008.1.2.4.70"},
		{"jpeg-ls-lossless", enc("jls80.dcm", "dcmcjpls", "+el", cr), "-xt", "1.2.840.10008.1.2.4.80"},
		{"jpeg-ls-near", enc("jls81.dcm", "dcmcjpls", "+en", cr), "-xu", "1.2.840.10008.1.2.4.81"},
		{"rle", enc("rle.dcm", "dcmcrle", cr), "-xr", "1.2.840.10008.1.2.5"},
		// DCMTK cannot encode JPEG 2000; a JPEG baseline file relabelled as
		// J2K is enough to show negotiation and storing as received.
		{"j2k-lossless", relabel(t, jpegBaseline, "1.2.840.10008.1.2.4.90"), "-xv", "1.2.840.10008.1.2.4.90"},
		{"j2k", relabel(t, jpegBaseline, "1.2.840.10008.1.2.4.91"), "-xw", "1.2.840.10008.1.2.4.91"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Cases share SOP instances: start each from an empty index.
			draftstest.MustExec(t, ts.store, `DELETE FROM instances`)
			out, err := run(t, "storescu", "-v", c.opt, "-R", "-aec", "RADRAFT", ts.host(), ts.port(), c.file)
			if err != nil || !strings.Contains(out, "Received Store Response (Success)") {
				t.Fatalf("storescu %s: %v\n%s", c.opt, err, out)
			}
			var path, got string
			sop := sopUIDOf(t, c.file)
			if err := ts.store.DB().QueryRow(context.Background(), `SELECT path, transfer_syntax_uid FROM instances
				WHERE sop_instance_uid = $1`, sop).Scan(&path, &got); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("stored in %s, want %s", got, c.want)
			}
			stored, err := os.ReadFile(filepath.Join(ts.dir, path))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(datasetOf(t, stored), datasetOf(t, sentByStorescu(t, c.file, c.opt, "-R"))) {
				t.Fatalf("stored dataset differs from what storescu sent")
			}
		})
	}
}

func mustRun(t *testing.T, prog string, args ...string) string {
	t.Helper()
	out, err := run(t, prog, args...)
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
	}
	return out
}

// relabel copies a Part 10 file, changing its meta transfer syntax UID to
// one of the same length.
func relabel(t *testing.T, src, ts string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	meta := 144 + int(binary.LittleEndian.Uint32(b[140:144]))
	i := bytes.Index(b[:meta], []byte("1.2.840.10008.1.2.4.50"))
	if i < 0 {
		t.Fatal("no JPEG baseline transfer syntax in the meta")
	}
	copy(b[i:], ts)
	out := filepath.Join(t.TempDir(), "relabelled.dcm")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func sopUIDOf(t *testing.T, file string) string {
	t.Helper()
	out := mustRun(t, "dcmdump", "-q", "-s", "+P", "0008,0018", file)
	i, j := strings.Index(out, "["), strings.Index(out, "]")
	if i < 0 || j < i {
		t.Fatalf("no SOP instance UID in %s", out)
	}
	return out[i+1 : j]
}

func newStore(t testing.TB) *drafts.Store { return draftstest.New(t) }

func draftstest_MustExec(t testing.TB, s *drafts.Store, sql string, args ...any) {
	draftstest.MustExec(t, s, sql, args...)
}
