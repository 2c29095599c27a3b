// Package e2e holds end-to-end tests of the real radraft binary against
// real peers that span several packages (issue 11: what a PACS sends).
package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/internal/testpeers"
	"github.com/radraft/radraft/internal/testserve"
)

func TestMain(m *testing.M) { testserve.Main(m) }

// sopClasses accepted in this test: the default radiographs plus what a PACS
// forwards with a study (CT, SR, KOS, presentation state).
var sopClasses = strings.Join([]string{
	"1.2.840.10008.5.1.4.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1.1",
	"1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.88.11",
	"1.2.840.10008.5.1.4.1.1.88.22", "1.2.840.10008.5.1.4.1.1.88.67", "1.2.840.10008.5.1.4.1.1.88.59",
	"1.2.840.10008.5.1.4.1.1.11.1",
}, ",")

// pacsCase is one study sent to the real binary: files sent in order, one
// storescu call each (wait: for the previous step's outcome first).
type pacsCase struct {
	name  string
	files []string
	// then, when set, is sent after the study's first outcome (the re-send).
	then []string
	// want is the study's expected final state.
	want string
	// mayBeRefused: the syntax is not yet negotiated by the SCP or no sender
	// here can send it (HTJ2K: DCMTK 3.6.7 cannot read it); when it is
	// accepted, want holds.
	mayBeRefused bool
}

// TestPACSIngestTable sends the testdata CR in every transfer syntax of the
// codec corpus, and the mixed studies of issue 11, with DCMTK's storescu to
// a real `radraft serve` (demo model), and checks each outcome: accepted,
// stored byte-identical, drafted (or the reason). It logs the table of
// docs/notes (issue 11).
func TestPACSIngestTable(t *testing.T) {
	dcmsend := testpeers.Require(t, "dcmsend")
	for _, p := range []string{"dcmdump", "dcmodify", "dump2dcm", "dcmpsmk", "img2dcm", "dcmcjpeg", "gdcmconv", "ojph_compress"} {
		testpeers.Require(t, p)
	}
	lib := os.Getenv("RADRAFT_ORT_LIB")
	if lib == "" {
		t.Fatal("RADRAFT_ORT_LIB is not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	root, _ := filepath.Abs("../..")
	corpus, mkfixtures := buildCorpus(t, root, tmp)
	cases := corpusCases(t, corpus, mkfixtures, tmp)
	cases = append(cases, mixedCases(t, corpus, tmp)...)

	dbURL := draftstest.NewDatabase(t)
	dicomAddr, mllpAddr, httpAddr := testserve.FreeAddr(t), testserve.FreeAddr(t), testserve.FreeAddr(t)
	p := testserve.Start(t, []string{"RADRAFT_DATABASE_URL=" + dbURL, "RADRAFT_STORAGE_DIR=" + filepath.Join(tmp, "dicom"),
		"RADRAFT_DICOM_ADDR=" + dicomAddr, "RADRAFT_MLLP_ADDR=" + mllpAddr, "RADRAFT_HTTP_ADDR=" + httpAddr,
		"RADRAFT_SETTLE_QUIET=2s", "RADRAFT_ORDER_WAIT=1s", "RADRAFT_MODEL_DIR=" + filepath.Join(root, "models/demo"),
		"RADRAFT_ORT_LIB=" + lib, "RADRAFT_ROLE=all", "RADRAFT_SOP_CLASSES=" + sopClasses}, httpAddr)
	defer func() { p.Cmd.Process.Signal(os.Interrupt); <-p.Done }() //nolint:errcheck
	p.WaitReady(ctx, t, httpAddr)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	host, port, _ := net.SplitHostPort(dicomAddr)
	// dcmsend proposes each file's own transfer syntax (and decompresses
	// lossless data when only uncompressed is accepted), as a PACS does.
	send := func(f string) string {
		out, err := exec.CommandContext(ctx, dcmsend, "-aet", "PACS", "-aec", "RADRAFT", host, port, f).CombinedOutput()
		if err != nil {
			return "dcmsend: " + lastLine(string(out))
		}
		return ""
	}
	sendErr := map[string]string{}
	for _, c := range cases {
		for _, f := range c.files {
			if e := send(f); e != "" {
				sendErr[c.name] = e
			}
		}
	}
	var rows []string
	failed := false
	for _, c := range cases {
		study := studyUID(t, c.files[0])
		if e := sendErr[c.name]; e != "" && len(c.files) == 1 {
			rows = append(rows, fmt.Sprintf("| %s | no | - | not received (%s) |", c.name, e))
			if !c.mayBeRefused {
				failed = true
				t.Errorf("%s: %s", c.name, e)
			}
			continue
		}
		state, reason := waitSettled(ctx, conn, study)
		if len(c.then) > 0 {
			for _, f := range c.then {
				send(f)
			}
			time.Sleep(500 * time.Millisecond)
			state, reason = waitSettled(ctx, conn, study)
		}
		if state == "not received" && c.mayBeRefused {
			rows = append(rows, fmt.Sprintf("| %s | no | - | not received (refused at association) |", c.name))
			continue
		}
		accepted, identical := storedOutcome(ctx, t, conn, append(append([]string{}, c.files...), c.then...))
		drafted := state
		if state != "drafted" {
			drafted += ": " + reason
		} else if reason != "" {
			drafted += " (" + reason + ")"
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s |", c.name, accepted, identical, drafted))
		if state != c.want {
			failed = true
			t.Errorf("%s: study %s %q, want %s", c.name, state, reason, c.want)
		}
	}
	t.Logf("\n| case | accepted | stored identical | drafted (or the reason shown) |\n|---|---|---|---|\n%s", strings.Join(rows, "\n"))
	if failed {
		t.Logf("serve log:\n%s", p.Log())
	}
}

func buildCorpus(t *testing.T, root, tmp string) (corpus, mkfixtures string) {
	t.Helper()
	mkfixtures = filepath.Join(tmp, "mkfixtures")
	run(t, root, "go", "build", "-o", mkfixtures, "./dicom/pixels/internal/mkfixtures")
	corpus = filepath.Join(tmp, "corpus")
	cmd := exec.Command("bash", filepath.Join(root, "dicom/pixels/testdata/mkcorpus.sh"), corpus)
	cmd.Env = append(os.Environ(), "MKFIXTURES="+mkfixtures)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mkcorpus.sh: %v\n%s", err, lastLines(string(out), 10))
	}
	return corpus, mkfixtures
}

// corpusCases: the CR in each syntax, each its own study (new UIDs).
func corpusCases(t *testing.T, corpus, mkfixtures, tmp string) []pacsCase {
	var cases []pacsCase
	for _, name := range []string{"deflated-cr", "jpeg-baseline-cr", "jpeg-extended-cr", "jpeg-lossless-sv6-cr",
		"jpeg-sv1-cr", "jpegls-lossless-cr", "jpegls-near-cr", "rle-cr", "j2k-lossless-crx", "j2k-lossy-crx"} {
		f := filepath.Join(tmp, name+".dcm")
		copyFile(t, filepath.Join(corpus, name+".dcm"), f)
		run(t, tmp, "dcmodify", "-nb", "-gst", "-gse", "-gin", f)
		ts := tsOf(t, f)
		cases = append(cases, pacsCase{name: name + " (" + ts + ")", files: []string{f}, want: "drafted",
			mayBeRefused: ts == "1.2.840.10008.1.2.4.51"})
	}
	// HTJ2K: DCMTK 3.6.7 cannot rewrite it; wrap the codestream in a source
	// with new UIDs instead.
	for _, c := range []struct{ name, ts string }{{"htj2k-lossless-cr", "1.2.840.10008.1.2.4.201"}, {"htj2k-lossy-cr", "1.2.840.10008.1.2.4.203"}} {
		src := filepath.Join(tmp, c.name+".src.dcm")
		copyFile(t, filepath.Join(corpus, "src", "cr.dcm"), src)
		run(t, tmp, "dcmodify", "-nb", "-gst", "-gse", "-gin", src)
		f := filepath.Join(tmp, c.name+".dcm")
		run(t, tmp, mkfixtures, "-wrap", src, filepath.Join(corpus, c.name+".j2c"), c.ts, f)
		cases = append(cases, pacsCase{name: c.name + " (" + c.ts + ")", files: []string{f}, want: "drafted", mayBeRefused: true})
	}
	return cases
}

// mixedCases: the studies of issue 11 that mix object kinds, and the
// undecodable copy re-sent decodable.
func mixedCases(t *testing.T, corpus, tmp string) []pacsCase {
	cr := func(name string) string {
		f := filepath.Join(tmp, name+".dcm")
		copyFile(t, filepath.Join(corpus, "src", "crx.dcm"), f)
		run(t, tmp, "dcmodify", "-nb", "-gst", "-gse", "-gin", f)
		return f
	}
	// A scanned requisition: Secondary Capture, Modality OT, 2480x3508.
	reqCR := cr("req-cr")
	bmp := filepath.Join(tmp, "requisition.bmp")
	writeGrayBMP(t, bmp, 2480, 3508)
	req := filepath.Join(tmp, "requisition.dcm")
	run(t, tmp, "img2dcm", "-i", "BMP", "--study-from", reqCR, "-k", "Modality=OT", "-k", "SeriesDescription=REQUISITION",
		"-k", "StudyDescription=XR CHEST AP", bmp, req)
	// A CT topogram saying AP, in the study of a lateral-only CR... here
	// with the frontal CR: the CR must be chosen, the CT named as skipped.
	ctCR := cr("ct-cr")
	topo := filepath.Join(tmp, "topogram.dcm")
	copyFile(t, filepath.Join(corpus, "src", "u12.dcm"), topo)
	run(t, tmp, "dcmodify", "-nb", "-gse", "-gin", "-m", "(0008,0016)=1.2.840.10008.5.1.4.1.1.2", "-m", "(0008,0060)=CT",
		"-i", "(0008,103e)=TOPOGRAM AP", "-i", "(0008,0008)=ORIGINAL\\PRIMARY\\LOCALIZER",
		"-m", "(0020,000d)="+studyUID(t, ctCR), topo)
	// A dose SR, a key-object selection and a presentation state.
	objCR := cr("objects-cr")
	study := studyUID(t, objCR)
	var objs []string
	for _, o := range []struct{ name, class, modality string }{
		{"dose-sr", "1.2.840.10008.5.1.4.1.1.88.67", "SR"}, {"kos", "1.2.840.10008.5.1.4.1.1.88.59", "KO"}} {
		dump := filepath.Join(tmp, o.name+".dump")
		uid := "1.2.826.0.1.3680043.10.1190.78." + fmt.Sprint(len(objs)+1)
		body := fmt.Sprintf("(0008,0016) UI [%s]\n(0008,0018) UI [%s]\n(0008,0060) CS [%s]\n(0020,000d) UI [%s]\n"+
			"(0020,000e) UI [%s.9]\n(0040,a040) CS [CONTAINER]\n", o.class, uid, o.modality, study, uid)
		if err := os.WriteFile(dump, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(tmp, o.name+".dcm")
		run(t, tmp, "dump2dcm", "+te", dump, f)
		objs = append(objs, f)
	}
	pr := filepath.Join(tmp, "pr.dcm")
	run(t, tmp, "dcmpsmk", objCR, pr)
	objs = append(objs, pr)
	// Undecodable first (a JPEG 2000 codestream cut short), then the same
	// SOP Instance re-sent uncompressed.
	good := cr("resend-good")
	cut := filepath.Join(tmp, "cut.j2c")
	b, err := os.ReadFile(filepath.Join(corpus, "htj2k-lossless-cr.j2c"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cut, b[:4000], 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(tmp, "resend-bad.dcm")
	run(t, tmp, filepath.Join(tmp, "mkfixtures"), "-wrap", good, cut, "1.2.840.10008.1.2.4.90", bad)
	return []pacsCase{
		{name: "CR + SC requisition (OT, 2480x3508)", files: []string{reqCR, req}, want: "drafted"},
		{name: "CR + CT topogram 'AP'", files: []string{ctCR, topo}, want: "drafted"},
		{name: "CR + dose SR + KOS + PR", files: append([]string{objCR}, objs...), want: "drafted"},
		{name: "undecodable J2K, then re-sent uncompressed", files: []string{bad}, then: []string{good}, want: "drafted"},
	}
}

// storedOutcome says which files were indexed (accepted) and whether the
// stored dataset is byte-identical to the file given to the sender (the
// instance or its kept copy). DCMTK re-encodes what it sends (a deflated
// dataset is deflated again, lossless JPEG is decompressed when only
// uncompressed is accepted), so "not identical" can be the sender's doing:
// the stored transfer syntax is shown.
func storedOutcome(ctx context.Context, t *testing.T, conn *pgx.Conn, files []string) (string, string) {
	acc, same := 0, 0
	var notes []string
	for _, f := range files {
		sop, sum := sopUID(t, f), datasetSHA(t, f)
		var ts string
		var match bool
		err := conn.QueryRow(ctx, `SELECT i.transfer_syntax_uid, i.sha256 = $2 OR EXISTS (SELECT 1 FROM instance_conflicts c
			WHERE c.sop_instance_uid = i.sop_instance_uid AND c.sha256 = $2) FROM instances i WHERE i.sop_instance_uid = $1`, sop, sum).Scan(&ts, &match)
		if err != nil {
			notes = append(notes, filepath.Base(f)+" refused")
			continue
		}
		acc++
		if match {
			same++
		} else {
			notes = append(notes, filepath.Base(f)+" stored as "+ts)
		}
	}
	a := fmt.Sprintf("%d/%d", acc, len(files))
	s := fmt.Sprintf("%d/%d", same, len(files))
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, "; ") + ")"
	}
	return a, s
}

// waitSettled waits for the study to reach drafted, draft_failed or
// needs_view with no draft job left to run.
func waitSettled(ctx context.Context, conn *pgx.Conn, study string) (string, string) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var state, reason string
	for ctx.Err() == nil {
		var pending int
		err := conn.QueryRow(ctx, `SELECT s.state, COALESCE(CASE WHEN s.state = 'needs_view' OR s.state = 'drafted' THEN s.view_reason ELSE s.state_reason END, ''),
			(SELECT count(*) FROM river_job WHERE kind = 'draft_study' AND args->>'study_uid' = s.study_uid
				AND state IN ('available', 'pending', 'running', 'retryable', 'scheduled'))
			FROM studies s WHERE s.study_uid = $1`, study).Scan(&state, &reason, &pending)
		if err == nil && pending == 0 && (state == "drafted" || state == "draft_failed" || state == "needs_view") {
			return state, reason
		}
		if err != nil && err != pgx.ErrNoRows {
			return "error", err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	if state == "" {
		state = "not received"
	}
	return state, reason + " (timed out)"
}

var uidRe = regexp.MustCompile(`\[([0-9.]+)\]`)

func tagValue(t *testing.T, f, tg string) string {
	t.Helper()
	out, err := exec.Command("dcmdump", "-Un", "+P", tg, "-q", "-M", f).Output()
	m := uidRe.FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("dcmdump %s %s: %v %q", tg, f, err, out)
	}
	return string(m[1])
}

func studyUID(t *testing.T, f string) string { return tagValue(t, f, "0020,000d") }
func sopUID(t *testing.T, f string) string   { return tagValue(t, f, "0008,0018") }
func tsOf(t *testing.T, f string) string     { return tagValue(t, f, "0002,0010") }

// datasetSHA is the SHA-256 of a Part 10 file's dataset (after the meta
// group), as the SCP records it for what it received.
func datasetSHA(t *testing.T, f string) string {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil || len(b) < 144 {
		t.Fatalf("%s: %v", f, err)
	}
	n := 144 + int(binary.LittleEndian.Uint32(b[140:]))
	sum := sha256.Sum256(b[n:])
	return hex.EncodeToString(sum[:])
}

// writeGrayBMP writes an 8-bit grayscale BMP (a "scanned page": white with
// dark text-like bars).
func writeGrayBMP(t *testing.T, path string, w, h int) {
	t.Helper()
	stride := (w + 3) &^ 3
	header := make([]byte, 54+1024)
	copy(header, "BM")
	binary.LittleEndian.PutUint32(header[2:], uint32(len(header)+stride*h))
	binary.LittleEndian.PutUint32(header[10:], uint32(len(header)))
	binary.LittleEndian.PutUint32(header[14:], 40)
	binary.LittleEndian.PutUint32(header[18:], uint32(w))
	binary.LittleEndian.PutUint32(header[22:], uint32(h))
	binary.LittleEndian.PutUint16(header[26:], 1)
	binary.LittleEndian.PutUint16(header[28:], 8)
	binary.LittleEndian.PutUint32(header[46:], 256)
	for i := 0; i < 256; i++ {
		header[54+4*i], header[55+4*i], header[56+4*i] = byte(i), byte(i), byte(i)
	}
	px := make([]byte, stride*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := byte(250)
			if y%60 < 12 && x > 200 && x < w-200 && (x/37)%5 != 0 {
				v = 20
			}
			px[y*stride+x] = v
		}
	}
	if err := os.WriteFile(path, append(header, px...), 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func lastLine(s string) string { return lastLines(s, 1) }

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
