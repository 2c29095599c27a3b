package hl7

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// Seeds: every message of testdata/corpus plus testdata/fuzz/FuzzParse.
// Run longer with: go test ./hl7 -run '^$' -fuzz FuzzParse -fuzztime 60s
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/corpus/*.hl7")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(bytes.ReplaceAll(b, []byte("\n"), []byte("\r")))
	}
	x := &Extractor{}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw)
		if err != nil {
			// Even an unparseable message gets a well-formed AR.
			ack, perr := Parse(BuildAck(nil, raw, AckOptions{Code: AR, Text: err.Error()}))
			if perr != nil || ack.Value("MSA-1") != "AR" {
				t.Fatalf("NAK for unparseable message does not parse: %v", perr)
			}
			return
		}
		for _, s := range m.Segments {
			for _, fl := range s.Fields {
				for _, r := range fl {
					for _, c := range r {
						for _, sub := range c {
							if !utf8.ValidString(sub) {
								t.Fatalf("value not UTF-8: %q", sub)
							}
						}
					}
				}
			}
		}
		orders, rej := x.Extract(m)
		code := AA
		if rej != nil {
			code = rej.Code
			if code == AA || code == CA {
				t.Fatal("a rejection with a positive code")
			}
		} else if len(orders) == 0 {
			t.Fatal("accepted with no orders")
		} else {
			for _, o := range orders {
				if o.AccessionNumber == "" && o.StudyUID == "" {
					t.Fatal("accepted an order with no key")
				}
			}
		}
		ackRaw := BuildAck(m, raw, AckOptions{Code: code, Text: "x"})
		ack, err := Parse(ackRaw)
		if err != nil {
			t.Fatalf("ACK does not parse: %v\n%q", err, ackRaw)
		}
		if got, want := ack.Value("MSA-2"), strings.ReplaceAll(m.ControlID(), "\r", "\n"); got != want {
			t.Fatalf("MSA-2 %q, want MSH-10 %q", got, want)
		}
		if ack.Value("MSA-1") != string(code) {
			t.Fatalf("MSA-1 %q", ack.Value("MSA-1"))
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte("\x0bMSH|^~\\&|A\r\x1c\r\x0bMSH|two\x1c\r"))
	f.Add([]byte("\r\n\x0bMSH|x\x1cX"))
	f.Add([]byte("\x0b" + strings.Repeat("A", 300) + "\x1c\r\x0bMSH|after\x1c\r"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(stream), 16)
		for i := 0; i < 1000; i++ {
			m, err := ReadFrame(r, 128)
			if err != nil {
				return
			}
			if len(m) > 128 || bytes.IndexByte(m, StartBlock) >= 0 || bytes.IndexByte(m, EndBlock) >= 0 {
				t.Fatalf("bad frame %q", m)
			}
		}
	})
}

func FuzzEscape(f *testing.F) {
	f.Add("a|b^c&d~e\\f\r\nx\ty")
	f.Fuzz(func(t *testing.T, s string) {
		want := strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
		if got := Unescape(Escape(s, DefaultDelimiters), DefaultDelimiters); got != want {
			t.Fatalf("round trip %q -> %q", s, got)
		}
	})
}
