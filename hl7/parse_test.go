package hl7

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestParseStructure(t *testing.T) {
	raw := "MSH|^~\\&|APP|FAC|RCV|RFAC|20260101||ORM^O01^ORM_O01|C1|P|2.3\r" +
		"PID|1||A~B^^^AUTH^MR||FAM&VAN&DER^GIVEN\r\n" +
		"OBR|1||||||||||||a\\T\\b&second~rep2\n"
	m, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Segments) != 3 {
		t.Fatalf("%d segments", len(m.Segments))
	}
	msh := m.Segment("MSH")
	if msh.Get(1, 1) != "|" || msh.Get(2, 1) != "^~\\&" || msh.Get(3, 1) != "APP" || m.Type() != "ORM^O01" || m.ControlID() != "C1" {
		t.Fatalf("MSH: %q %q %q %q %q", msh.Get(1, 1), msh.Get(2, 1), msh.Get(3, 1), m.Type(), m.ControlID())
	}
	pid := m.Segment("PID")
	ids := pid.Field(3)
	if len(ids) != 2 || ids.Get(0, 1, 1) != "A" || ids.Get(1, 1, 1) != "B" || ids.Get(1, 4, 1) != "AUTH" || ids.Get(1, 5, 1) != "MR" {
		t.Fatalf("PID-3 %#v", ids)
	}
	if pid.Field(5).Get(0, 1, 2) != "VAN" || pid.Field(5).Get(0, 1, 3) != "DER" || pid.Get(5, 2) != "GIVEN" {
		t.Fatalf("PID-5 %#v", pid.Field(5))
	}
	obr13 := m.Segment("OBR").Field(13)
	// The escaped & is data, the real & a sub-component separator.
	if obr13.Get(0, 1, 1) != "a&b" || obr13.Get(0, 1, 2) != "second" || obr13.Get(1, 1, 1) != "rep2" {
		t.Fatalf("OBR-13 %#v", obr13)
	}
	if m.Value("PID-3.4") != "" || m.Value("PID-5.1.2") != "VAN" || m.Value("MSH-9.2") != "O01" || m.Value("ZZZ-1") != "" {
		t.Fatalf("Value paths")
	}
	// Absent things are empty, never a panic.
	if m.Segment("OBX").Get(5, 1) != "" || pid.Get(99, 9) != "" || pid.Field(3).Get(5, 1, 1) != "" {
		t.Fatal("absent values not empty")
	}
}

func TestParseRejects(t *testing.T) {
	for name, raw := range map[string]string{
		"empty":            "",
		"not msh":          "PID|1\rMSH|^~\\&|",
		"short":            "MSH|^~",
		"no msh-2 end":     "MSH|^~\\&",
		"dup delimiters":   "MSH|^^\\&|A|B\r",
		"alnum delimiter":  "MSH|^~A&|A|B\r",
		"bad segment name": "MSH|^~\\&|A|B\rP D|1\r",
		"crlf delimiter":   "MSH\r^~\\&|A\r",
	} {
		if _, err := Parse([]byte(raw)); err == nil {
			t.Errorf("%s: parsed", name)
		} else if !errors.As(err, new(*ParseError)) {
			t.Errorf("%s: %T", name, err)
		}
	}
}

func TestUnescape(t *testing.T) {
	d := DefaultDelimiters
	for in, want := range map[string]string{
		`a\F\b\S\c\T\d\R\e\E\f`:   `a|b^c&d~e\f`,
		`line1\.br\line2`:         "line1\nline2",
		`\X0D0A\`:                 "\r\n",
		`50\X25\`:                 "50%",
		`\H\bold\N\`:              "bold",
		`two\.sp 2\lines`:         "two\n\nlines",
		`keep \Q\ unknown`:        `keep \Q\ unknown`,
		`unterminated \F`:         `unterminated \F`,
		`odd hex \X4\ stays`:      `odd hex \X4\ stays`,
		`bad hex \XZZ\ stays`:     `bad hex \XZZ\ stays`,
		`charset \C2842\ dropped`: "charset  dropped",
		`\\`:                      `\\`,
	} {
		if got := Unescape(in, d); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	d := DefaultDelimiters
	for _, s := range []string{"", "plain", `a|b^c&d~e\f`, "x\ny", "tab\there", "Müller 39 °C"} {
		esc := Escape(s, d)
		if strings.ContainsAny(esc, "|^&~\n") {
			t.Errorf("Escape(%q) = %q leaves a delimiter", s, esc)
		}
		if got := Unescape(esc, d); got != s {
			t.Errorf("round trip %q -> %q -> %q", s, esc, got)
		}
	}
}

func frames(msgs ...string) []byte {
	var b bytes.Buffer
	for _, m := range msgs {
		WriteFrame(&b, []byte(m)) //nolint:errcheck
	}
	return b.Bytes()
}

func TestReadFrameSplitAcrossReads(t *testing.T) {
	stream := append([]byte("\r\n"), frames("MSH|one", "MSH|two\rPID|x")...)
	// One byte per Read: frames split at every possible point.
	r := bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(stream)), 16)
	var got []string
	for {
		m, err := ReadFrame(r, 1024)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m))
	}
	if len(got) != 2 || got[0] != "MSH|one" || got[1] != "MSH|two\rPID|x" {
		t.Fatalf("%q", got)
	}
}

func TestReadFrameErrors(t *testing.T) {
	read := func(b []byte, max int) error {
		_, err := ReadFrame(bufio.NewReaderSize(bytes.NewReader(b), 16), max)
		return err
	}
	if err := read([]byte("MSH|no start block"), 100); !errors.Is(err, ErrFraming) {
		t.Errorf("no SB: %v", err)
	}
	if err := read([]byte("\x0bMSH|x\x0bMSH|y\x1c\r"), 100); !errors.Is(err, ErrFraming) {
		t.Errorf("SB inside: %v", err)
	}
	if err := read([]byte("\x0bMSH|x\x1cX"), 100); !errors.Is(err, ErrFraming) {
		t.Errorf("EB without CR: %v", err)
	}
	if err := read([]byte("\x0bMSH|trunc"), 100); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated: %v", err)
	}
	// Too large: skipped to its end, the next frame still readable.
	big := "MSH|^~\\&|A|B|C|D|T||ORM^O01|BIG1|P|2.3\r" + strings.Repeat("X", 500)
	r := bufio.NewReaderSize(bytes.NewReader(frames(big, "MSH|next")), 16)
	_, err := ReadFrame(r, 100)
	var tl *TooLargeError
	if !errors.As(err, &tl) || !bytes.HasPrefix(tl.Prefix, []byte("MSH|^~")) || len(tl.Prefix) != 100 {
		t.Fatalf("too large: %v", err)
	}
	if m, err := ReadFrame(r, 100); err != nil || string(m) != "MSH|next" {
		t.Fatalf("after too large: %q %v", m, err)
	}
}

func TestBuildAck(t *testing.T) {
	in := "MSH|^~\\&|RIS|HOSP|RADRAFT|RAD|20260101||ORM^O01|CTRL\\F\\1|P|2.3\rPID|1\r"
	m, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ack, err := Parse(BuildAck(m, []byte(in), AckOptions{Code: AA, Now: now}))
	if err != nil {
		t.Fatal(err)
	}
	msh := ack.Segment("MSH")
	if msh.Get(3, 1) != "RADRAFT" || msh.Get(4, 1) != "RAD" || msh.Get(5, 1) != "RIS" || msh.Get(6, 1) != "HOSP" {
		t.Fatalf("sender/receiver not swapped: %q", BuildAck(m, []byte(in), AckOptions{Code: AA, Now: now}))
	}
	if ack.Type() != "ACK^O01" || msh.Get(12, 1) != "2.3" || msh.Get(11, 1) != "P" || len(ack.ControlID()) > 20 || ack.ControlID() == "" {
		t.Fatalf("ACK MSH %q %q %q", ack.Type(), msh.Get(12, 1), ack.ControlID())
	}
	if ack.Value("MSA-1") != "AA" || ack.Value("MSA-2") != "CTRL|1" || ack.Segment("ERR") != nil {
		t.Fatalf("MSA %q %q", ack.Value("MSA-1"), ack.Value("MSA-2"))
	}
	nak, err := Parse(BuildAck(m, []byte(in), AckOptions{Code: AE, ErrCode: ErrRequiredFieldMiss, ErrLocation: "OBR^1^18", Text: "no key"}))
	if err != nil {
		t.Fatal(err)
	}
	if nak.Value("MSA-1") != "AE" || nak.Value("MSA-3") != "no key" || nak.Value("ERR-3.1") != "101" || nak.Value("ERR-4") != "E" || nak.Value("ERR-2.1") != "OBR" {
		t.Fatalf("NAK %q", BuildAck(m, []byte(in), AckOptions{Code: AE, ErrCode: ErrRequiredFieldMiss, Text: "no key"}))
	}
	// Unparseable: default delimiters, control ID salvaged when possible.
	bad := []byte("MSH|^^^^|A|B|C|D|T||ORM^O01|SALVAGED|P|2.3\r")
	ack2, err := Parse(BuildAck(nil, bad, AckOptions{Code: AR}))
	if err != nil || ack2.Value("MSA-1") != "AR" || ack2.Value("MSA-2") != "SALVAGED" {
		t.Fatalf("salvage: %v %q", err, ack2.Value("MSA-2"))
	}
}

func TestAckModes(t *testing.T) {
	parse := func(s string) AckMode {
		m, err := Parse([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return ModeOf(m)
	}
	orig := parse("MSH|^~\\&|A|B|C|D|T||ORM^O01|1|P|2.3\r")
	if orig.Enhanced || orig.Code(AA) != AA || !orig.ShouldSend(AR) {
		t.Fatalf("original %+v", orig)
	}
	al := parse("MSH|^~\\&|A|B|C|D|T||ORM^O01|1|P|2.5|||AL|NE\r")
	if !al.Enhanced || al.Code(AA) != CA || al.Code(AE) != CE || al.Code(AR) != CR || !al.ShouldSend(CA) {
		t.Fatalf("AL %+v", al)
	}
	er := parse("MSH|^~\\&|A|B|C|D|T||ORM^O01|1|P|2.5|||ER|AL\r")
	if er.ShouldSend(CA) || !er.ShouldSend(CE) {
		t.Fatalf("ER %+v", er)
	}
	ne := parse("MSH|^~\\&|A|B|C|D|T||ORM^O01|1|P|2.5|||NE|NE\r")
	if ne.ShouldSend(CA) || ne.ShouldSend(CR) {
		t.Fatalf("NE %+v", ne)
	}
}

func TestBuildORU(t *testing.T) {
	r := ReportResult{
		ReceivingApp: "RIS", ControlID: "ORU1", PatientID: "MRN1", PatientIDAuthority: "HOSP",
		PatientName: "Müller^Jürgen^^Dr.", PatientBirthDate: "19620101", PatientSex: "M",
		AccessionNumber: "ACC|1", StudyUID: "1.2.3", PlacerOrderNumber: "PL1", FillerOrderNumber: "FL1",
		ProcedureCode: "71046", ProcedureText: "XR CHEST 2V", Interpreter: "alice",
		Findings:   "Lungs are clear.\nNo effusion & no pneumothorax.\n\nHeart size normal ~ stable.\n",
		Impression: "Normal chest.",
		Now:        time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	raw := BuildORU(r)
	if bytes.Contains(raw, []byte("\n")) {
		t.Fatal("ORU contains LF: segments must end in CR only")
	}
	m, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type() != "ORU^R01" || m.ControlID() != "ORU1" || m.Value("MSH-5") != "RIS" || m.Value("MSH-18") != "UNICODE UTF-8" {
		t.Fatalf("MSH %q", raw)
	}
	if m.Value("OBR-25") != "F" || m.Value("OBR-18") != "ACC|1" || m.Value("ORC-1") != "RE" || m.Value("ZDS-1") != "1.2.3" {
		t.Fatalf("OBR %q", raw)
	}
	if m.Value("PID-5.1") != "Müller" || m.Value("PID-5.5") != "Dr." || m.Value("PID-3.4") != "HOSP" {
		t.Fatalf("PID %q", raw)
	}
	var lines []string
	for _, s := range m.Segments {
		if s.Name == "OBX" {
			if s.Get(2, 1) != "TX" || s.Get(11, 1) != "F" {
				t.Fatalf("OBX %#v", s)
			}
			lines = append(lines, s.Get(5, 1))
		}
	}
	want := []string{"Lungs are clear.", "No effusion & no pneumothorax.", "", "Heart size normal ~ stable.", "Normal chest."}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("OBX lines %q", lines)
	}
	// The python-hl7 parser reads it the same way (see server tests for
	// the wire); here, amendments say C.
	r.ResultStatus = "C"
	if m, _ := Parse(BuildORU(r)); m.Value("OBR-25") != "C" {
		t.Fatal("amended status")
	}
}

// A message made of separators is refused before it is split: what parsing
// allocates stays a small multiple of what was received.
func TestParseBoundsSeparators(t *testing.T) {
	for _, d := range []string{"|", "~", "^", "&"} {
		msg := append([]byte("MSH|^~\\&|RIS|H|RAD|H|20260101||ORM^O01|C1|P|2.3\rPID|1||"), bytes.Repeat([]byte(d), 1<<20-100)...)
		var err error
		allocs := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				_, err = Parse(msg)
			}
		}).AllocedBytesPerOp()
		if err == nil || allocs > 1<<20 {
			t.Errorf("1 MiB of %q: err %v, %d bytes allocated", d, err, allocs)
		}
	}
	ok := append([]byte("MSH|^~\\&|RIS|H|RAD|H|20260101||ORM^O01|C1|P|2.3\rPID|1||"), bytes.Repeat([]byte("x|"), MaxDelimiters/2-20)...)
	if _, err := Parse(ok); err != nil {
		t.Errorf("a message just under the limit: %v", err)
	}
}
