package hl7_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/hl7"
	"github.com/radraft/radraft/internal/testpeers"
)

// startServer runs an MLLP server on a fresh database.
func startServer(t *testing.T, tune func(*hl7.Server)) (*drafts.Store, string) {
	t.Helper()
	store := draftstest.New(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := &hl7.Server{Handler: &hl7.OrderHandler{Store: store, Log: quiet}, Log: quiet}
	if tune != nil {
		tune(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx) //nolint:errcheck
	})
	return store, ln.Addr().String()
}

type corpusFile struct {
	Name   string
	Raw    []byte
	Ack    string `json:"ack"`
	Err    string `json:"err"`
	KeepLF bool   `json:"keep_lf"`
	// Unsolicited: acknowledged, not stored (see corpus_test.go).
	Unsolicited bool             `json:"unsolicited"`
	Orders      []map[string]any `json:"orders"`
}

func corpus(t *testing.T) []corpusFile {
	t.Helper()
	files, _ := filepath.Glob("testdata/corpus/*.hl7")
	var out []corpusFile
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		js, err := os.ReadFile(strings.TrimSuffix(f, ".hl7") + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var c corpusFile
		if err := json.Unmarshal(js, &c); err != nil {
			t.Fatal(err)
		}
		c.Name = filepath.Base(f)
		if !c.KeepLF {
			raw = bytes.ReplaceAll(raw, []byte("\n"), []byte("\r"))
		}
		c.Raw = raw
		out = append(out, c)
	}
	if len(out) < 10 {
		t.Fatalf("corpus has %d files", len(out))
	}
	return out
}

type conn struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &conn{c: c, r: bufio.NewReader(c)}
}

// roundTrip sends one frame and reads one ACK.
func (c *conn) roundTrip(t *testing.T, msg []byte) *hl7.Message {
	t.Helper()
	if err := hl7.WriteFrame(c.c, msg); err != nil {
		t.Fatal(err)
	}
	return c.readAck(t)
}

func (c *conn) readAck(t *testing.T) *hl7.Message {
	t.Helper()
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck
	raw, err := hl7.ReadFrame(c.r, 1<<20)
	if err != nil {
		t.Fatalf("reading ACK: %v", err)
	}
	m, err := hl7.Parse(raw)
	if err != nil {
		t.Fatalf("ACK does not parse: %v: %q", err, raw)
	}
	return m
}

// column names of the fields a corpus file lists.
var columns = map[string]string{
	"OrderControl": "order_control", "OrderStatus": "order_status", "AccessionNumber": "accession_number",
	"AccessionSource": "accession_source", "StudyUID": "study_uid", "StudyUIDSource": "study_uid_source",
	"PlacerOrderNumber": "placer_order_number", "FillerOrderNumber": "filler_order_number",
	"PatientID": "patient_id", "PatientIDAuthority": "patient_id_authority", "PatientName": "patient_name",
	"PatientBirthDate": "patient_birth_date", "PatientSex": "patient_sex", "ProcedureCode": "procedure_code",
	"ProcedureText": "procedure_text", "Modality": "modality", "Indication": "indication",
	"IndicationSource": "indication_source", "OrderingProvider": "ordering_provider",
}

func storedMessages(t *testing.T, s *drafts.Store, ctrl string) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(context.Background(), `SELECT count(*) FROM hl7_messages WHERE message_control_id=$1`, ctrl).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCorpusOverMLLP sends the whole corpus, in order, on one connection and
// checks each ACK and what was stored.
func TestCorpusOverMLLP(t *testing.T) {
	store, addr := startServer(t, nil)
	ctx := context.Background()
	c := dial(t, addr)
	for _, f := range corpus(t) {
		ack := c.roundTrip(t, f.Raw)
		ctrl := ""
		if m, err := hl7.Parse(f.Raw); err == nil {
			ctrl = m.ControlID()
		}
		if got := ack.Value("MSA-1"); got != f.Ack {
			t.Fatalf("%s: MSA-1 %s (%s), want %s", f.Name, got, ack.Value("MSA-3"), f.Ack)
		}
		if ack.Value("MSA-2") != ctrl {
			t.Fatalf("%s: MSA-2 %q, want %q", f.Name, ack.Value("MSA-2"), ctrl)
		}
		if f.Err != "" && !f.Unsolicited && ack.Value("ERR-3.1") != f.Err {
			t.Fatalf("%s: ERR-3 %q, want %s", f.Name, ack.Value("ERR-3.1"), f.Err)
		}
		positive := (f.Ack == "AA" || f.Ack == "CA") && !f.Unsolicited
		if n := storedMessages(t, store, ctrl); ctrl != "" && (n == 1) != positive {
			t.Fatalf("%s: %d stored messages after %s", f.Name, n, f.Ack)
		}
		for _, want := range f.Orders {
			acc, _ := want["AccessionNumber"].(string)
			var js []byte
			if err := store.DB().QueryRow(ctx, `SELECT row_to_json(o)::text FROM orders o WHERE accession_number=$1`, acc).Scan(&js); err != nil {
				t.Fatalf("%s: order %q: %v", f.Name, acc, err)
			}
			var row map[string]any
			json.Unmarshal(js, &row) //nolint:errcheck
			for k, v := range want {
				if col, ok := columns[k]; ok && row[col] != v {
					t.Errorf("%s: %s = %#v, want %#v", f.Name, col, row[col], v)
				}
			}
			if want["Action"] == float64(drafts.OrderCancel) && row["cancelled"] != true {
				t.Errorf("%s: not cancelled", f.Name)
			}
		}
	}
	// The raw message is kept byte for byte (Latin-1 included).
	var raw []byte
	if err := store.DB().QueryRow(ctx, `SELECT raw_message FROM orders WHERE accession_number='ACC0006'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("Lef\xe8vre")) {
		t.Fatalf("raw message not kept as received: %q", raw)
	}
}

// TestMLLPSendPeer sends the corpus with python-hl7's mllp_send, an MLLP
// client not written by us.
func TestMLLPSendPeer(t *testing.T) {
	prog := testpeers.Require(t, "mllp_send")
	store, addr := startServer(t, nil)
	host, port, _ := net.SplitHostPort(addr)
	var file bytes.Buffer
	var want []string
	for _, f := range corpus(t) {
		m, err := hl7.Parse(f.Raw)
		if err != nil || f.KeepLF {
			continue // mllp_send strips CR only; LF and non-HL7 are covered from Go
		}
		hl7.WriteFrame(&file, f.Raw) //nolint:errcheck
		sep := string(m.Delims.Field)
		want = append(want, "MSA"+sep+f.Ack+sep+m.ControlID())
	}
	path := filepath.Join(t.TempDir(), "corpus.mllp")
	if err := os.WriteFile(path, file.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, prog, "-p", port, "-f", path, host).CombinedOutput()
	if err != nil {
		t.Fatalf("mllp_send: %v\n%s", err, out)
	}
	for _, w := range want {
		if !bytes.Contains(out, []byte(w)) {
			t.Errorf("mllp_send output lacks %q:\n%s", w, bytes.ReplaceAll(out, []byte("\r"), []byte("\n")))
		}
	}
	if n := storedMessages(t, store, "MSG00001"); n != 1 {
		t.Fatalf("MSG00001 stored %d times", n)
	}
	// The same file again: every message is a re-send, recognised and
	// acknowledged without being applied twice.
	out, err = exec.CommandContext(ctx, prog, "-p", port, "-f", path, host).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("MSA|AA|MSG00001")) {
		t.Fatalf("re-send: %v\n%s", err, out)
	}
	var version int
	store.DB().QueryRow(ctx, `SELECT version FROM orders WHERE accession_number='ACC0001'`).Scan(&version) //nolint:errcheck
	if version != 2 {                                                                                      // NW + XO, each once
		t.Fatalf("ACC0001 version %d after re-send, want 2", version)
	}
}

func order(ctrl, acc string) []byte {
	return []byte("MSH|^~\\&|RIS|HOSP|RADRAFT|HOSP|20260127083012||ORM^O01|" + ctrl + "|P|2.3\r" +
		"PID|1||MRN1^^^HOSP^MR||DOE^JOHN||19550412|M\r" +
		"ORC|NW|PL-" + ctrl + "\r" +
		"OBR|1|PL-" + ctrl + "||71046^XR CHEST||||||||||||||" + acc + "|||||||||||||||^Cough\r")
}

func TestMalformedStreams(t *testing.T) {
	store, addr := startServer(t, func(s *hl7.Server) { s.MaxMessage = 4096 })

	// Bytes that are not MLLP: the connection is closed, no ACK.
	c := dial(t, addr)
	c.c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")) //nolint:errcheck
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))   //nolint:errcheck
	if b, err := io.ReadAll(c.r); err != nil || len(b) != 0 {
		t.Fatalf("non-MLLP: got %q, %v; want a closed connection", b, err)
	}

	// A frame that is not HL7: AR, and the connection goes on.
	c = dial(t, addr)
	if ack := c.roundTrip(t, []byte("hello")); ack.Value("MSA-1") != "AR" {
		t.Fatalf("non-HL7 frame: %s", ack.Value("MSA-1"))
	}
	// Too large: AR naming it, and the next message on the same
	// connection is still served.
	big := append(order("BIG1", "ACCBIG"), []byte("NTE|1||"+strings.Repeat("x", 8000)+"\r")...)
	if ack := c.roundTrip(t, big); ack.Value("MSA-1") != "AR" || ack.Value("MSA-2") != "BIG1" {
		t.Fatalf("too large: %s %s", ack.Value("MSA-1"), ack.Value("MSA-2"))
	}
	if ack := c.roundTrip(t, order("OK1", "ACCOK1")); ack.Value("MSA-1") != "AA" {
		t.Fatalf("after too large: %s", ack.Value("MSA-1"))
	}
	if storedMessages(t, store, "BIG1") != 0 {
		t.Fatal("oversized message stored")
	}

	// A frame sent one byte at a time, with pauses: one AA.
	c = dial(t, addr)
	var buf bytes.Buffer
	hl7.WriteFrame(&buf, order("SLOW1", "ACCSLOW")) //nolint:errcheck
	for i, b := range buf.Bytes() {
		c.c.Write([]byte{b}) //nolint:errcheck
		if i%40 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	if ack := c.readAck(t); ack.Value("MSA-1") != "AA" || ack.Value("MSA-2") != "SLOW1" {
		t.Fatalf("split frame: %s", ack.Value("MSA-1"))
	}

	// Pipelined: three frames in one write, three ACKs in order.
	c = dial(t, addr)
	buf.Reset()
	for _, id := range []string{"P1", "P2", "P3"} {
		hl7.WriteFrame(&buf, order(id, "ACC"+id)) //nolint:errcheck
	}
	c.c.Write(buf.Bytes()) //nolint:errcheck
	for _, id := range []string{"P1", "P2", "P3"} {
		if ack := c.readAck(t); ack.Value("MSA-1") != "AA" || ack.Value("MSA-2") != id {
			t.Fatalf("pipelined %s: %s %s", id, ack.Value("MSA-1"), ack.Value("MSA-2"))
		}
	}

	// Closed inside a frame: nothing stored, nothing answered.
	c = dial(t, addr)
	c.c.Write(append([]byte{hl7.StartBlock}, order("TRUNC1", "ACCTRUNC")...)) //nolint:errcheck
	c.c.Close()
	time.Sleep(100 * time.Millisecond)
	if storedMessages(t, store, "TRUNC1") != 0 {
		t.Fatal("truncated frame stored")
	}

	// A start block inside a frame: framing error, connection closed
	// without an ACK for either part.
	c = dial(t, addr)
	c.c.Write([]byte("\x0bMSH|^~\\&|A|B|C|D|T||ORM^O01|HALF|P|2.3\r\x0b")) //nolint:errcheck
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))                   //nolint:errcheck
	if b, _ := io.ReadAll(c.r); len(b) != 0 {
		t.Fatalf("SB inside frame answered %q", b)
	}

	// The server survived all of it.
	c = dial(t, addr)
	if ack := c.roundTrip(t, order("AFTER1", "ACCAFTER")); ack.Value("MSA-1") != "AA" {
		t.Fatalf("after malformed streams: %s", ack.Value("MSA-1"))
	}
}

func TestIdleTimeout(t *testing.T) {
	_, addr := startServer(t, func(s *hl7.Server) { s.IdleTimeout = 200 * time.Millisecond })
	c := dial(t, addr)
	if ack := c.roundTrip(t, order("IDLE1", "ACCIDLE")); ack.Value("MSA-1") != "AA" {
		t.Fatal(ack.Value("MSA-1"))
	}
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
	start := time.Now()
	if _, err := c.r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed after %s", d)
	}
}

// TestConcurrentConnections: many senders at once, every ACKed order stored.
func TestConcurrentConnections(t *testing.T) {
	store, addr := startServer(t, nil)
	const conns, per = 16, 15
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cl := &hl7.Client{Addr: addr, Timeout: 20 * time.Second}
			defer cl.Close()
			for j := 0; j < per; j++ {
				ctrl := fmt.Sprintf("C%02d-%02d", i, j)
				// Every fifth order repeats another connection's
				// accession: updates racing on the same order.
				acc := "ACC-" + ctrl
				if j%5 == 0 {
					acc = fmt.Sprintf("ACC-SHARED-%d", j)
				}
				if _, err := cl.Send(context.Background(), order(ctrl, acc)); err != nil {
					errs <- fmt.Errorf("%s: %w", ctrl, err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var msgs, orders, shared int
	ctx := context.Background()
	store.DB().QueryRow(ctx, `SELECT count(*) FROM hl7_messages`).Scan(&msgs)                                            //nolint:errcheck
	store.DB().QueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&orders)                                                //nolint:errcheck
	store.DB().QueryRow(ctx, `SELECT sum(version) FROM orders WHERE accession_number LIKE 'ACC-SHARED-%'`).Scan(&shared) //nolint:errcheck
	if msgs != conns*per || orders != conns*per-conns*3+3 || shared != conns*3 {
		t.Fatalf("%d messages, %d orders, %d shared versions", msgs, orders, shared)
	}
}

// TestClientAndORU: the ORU builder and the Client against an MLLP receiver
// (a stand-in RIS); python-hl7 reads the ORU the same way we do.
func TestClientAndORU(t *testing.T) {
	var mu sync.Mutex
	var got [][]byte
	nakNext := false
	srv := &hl7.Server{Handler: hl7.HandlerFunc(func(_ context.Context, raw []byte, _ string) []byte {
		m, err := hl7.Parse(raw)
		if err != nil {
			return hl7.BuildAck(nil, raw, hl7.AckOptions{Code: hl7.AR})
		}
		mu.Lock()
		defer mu.Unlock()
		if nakNext {
			nakNext = false
			return hl7.BuildAck(m, raw, hl7.AckOptions{Code: hl7.AE, Text: "busy"})
		}
		got = append(got, raw)
		return hl7.BuildAck(m, raw, hl7.AckOptions{Code: hl7.AA})
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)                         //nolint:errcheck
	defer srv.Shutdown(context.Background()) //nolint:errcheck
	cl := &hl7.Client{Addr: ln.Addr().String()}
	defer cl.Close()
	oru := hl7.BuildORU(hl7.ReportResult{ReceivingApp: "RIS", ControlID: "ORU-1", AccessionNumber: "ACC1",
		StudyUID: "1.2.3", PatientID: "MRN1", PatientName: "DOE^JANE", Findings: "Clear lungs.\nNo effusion."})
	ack, err := cl.Send(context.Background(), oru)
	if err != nil || ack.Code != hl7.AA || ack.ControlID != "ORU-1" {
		t.Fatalf("send: %+v %v", ack, err)
	}
	mu.Lock()
	nakNext = true
	mu.Unlock()
	_, err = cl.Send(context.Background(), hl7.BuildORU(hl7.ReportResult{ControlID: "ORU-2", Findings: "x"}))
	var nak *hl7.NakError
	if !errors.As(err, &nak) || nak.Ack.Code != hl7.AE || nak.Permanent() {
		t.Fatalf("NAK: %v", err)
	}
	// The kept connection still works after a NAK; a closed server is an error.
	if _, err := cl.Send(context.Background(), hl7.BuildORU(hl7.ReportResult{ControlID: "ORU-3", Findings: "y"})); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(got) != 2 || !bytes.Equal(got[0], oru) {
		t.Fatalf("received %d", len(got))
	}
	mu.Unlock()

	py := testpeers.RequirePython(t, "hl7")
	cmd := exec.Command(py, "-c", `import sys, hl7
m = hl7.parse(sys.stdin.buffer.read().decode("utf-8"))
print(m.segment("MSH")[9], m.segment("OBR")[25], m.segment("OBR")[18], [str(s[5]) for s in m.segments("OBX")])`)
	cmd.Stdin = bytes.NewReader(oru)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python-hl7 could not read our ORU: %v %s", err, out)
	}
	if want := "ORU^R01^ORU_R01 F ACC1 ['Clear lungs.', 'No effusion.']"; strings.TrimSpace(string(out)) != want {
		t.Fatalf("python-hl7 reads %q, want %q", out, want)
	}
}

// TestOrderAfterImagesOverMLLP: the images came first (a settled study with
// a draft_study job snoozed until the order-wait deadline); the NW wakes the
// job in the transaction that the AA follows, the CA cancels it.
func TestOrderAfterImagesOverMLLP(t *testing.T) {
	store, addr := startServer(t, nil)
	ctx := context.Background()
	draftstest.MustExec(t, store, `INSERT INTO studies (study_uid, accession_number, state) VALUES ('1.2.3.4.5.9999', 'ACC0009', 'settled')`)
	res, err := store.River.Insert(ctx, drafts.DraftStudyArgs{StudyUID: "1.2.3.4.5.9999", Reason: "settled"},
		&river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	state := func() string {
		var s string
		store.DB().QueryRow(ctx, `SELECT state::text FROM river_job WHERE id=$1`, res.Job.ID).Scan(&s) //nolint:errcheck
		return s
	}
	files := map[string][]byte{}
	for _, f := range corpus(t) {
		files[f.Name] = f.Raw
	}
	c := dial(t, addr)
	if ack := c.roundTrip(t, files["09a_new_then_cancel_nw.hl7"]); ack.Value("MSA-1") != "AA" {
		t.Fatal(ack.Value("MSA-1"))
	}
	// The ACK came after the commit: the job is already runnable.
	if s := state(); s != "available" {
		t.Fatalf("after NW: job %s, want available", s)
	}
	ind, err := store.IndicationForStudy(ctx, "1.2.3.4.5.9999")
	if err != nil || ind.Text != "Pre-op assessment" || ind.Source != "hl7:OBR-31" {
		t.Fatalf("indication %+v %v", ind, err)
	}
	if ack := c.roundTrip(t, files["09b_new_then_cancel_ca.hl7"]); ack.Value("MSA-1") != "AA" {
		t.Fatal(ack.Value("MSA-1"))
	}
	if s := state(); s != "cancelled" {
		t.Fatalf("after CA: job %s, want cancelled", s)
	}
	var reason string
	store.DB().QueryRow(ctx, `SELECT state_reason FROM studies WHERE study_uid='1.2.3.4.5.9999'`).Scan(&reason) //nolint:errcheck
	if !strings.Contains(reason, "cancelled") {
		t.Fatalf("state_reason %q", reason)
	}
}

// TestDatabaseDownNeverAA: when the order cannot be committed the sender gets
// AE (CE in enhanced mode), never AA, and the connection stays usable.
func TestDatabaseDownNeverAA(t *testing.T) {
	store, addr := startServer(t, func(s *hl7.Server) {
		s.Handler.(*hl7.OrderHandler).StoreTimeout = 2 * time.Second
	})
	c := dial(t, addr)
	if ack := c.roundTrip(t, order("UP1", "ACCUP1")); ack.Value("MSA-1") != "AA" {
		t.Fatal(ack.Value("MSA-1"))
	}
	store.Close()
	ack := c.roundTrip(t, order("DOWN1", "ACCDOWN1"))
	if ack.Value("MSA-1") != "AE" || ack.Value("MSA-2") != "DOWN1" || ack.Value("ERR-3.1") != "207" {
		t.Fatalf("database down: %s %s %s", ack.Value("MSA-1"), ack.Value("MSA-2"), ack.Value("ERR-3.1"))
	}
}
