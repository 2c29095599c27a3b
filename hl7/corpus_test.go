package hl7

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusCase is one file of testdata/corpus: NAME.hl7 (segments end in LF in
// the file; sent with CR unless keep_lf) and NAME.json with what it must
// yield: the acknowledgement code, the ERR-3 code of a rejection, and for
// each order the fields (drafts.Order names) to check. An unsolicited case
// is another message type: the extractor rejects it with ERR-3 err, the
// listener acknowledges it (ack) without storing it.
type corpusCase struct {
	Name   string
	Raw    []byte
	Ack    string `json:"ack"`
	Err    string `json:"err"`
	KeepLF bool   `json:"keep_lf"`
	Latin1 bool   `json:"latin1"`
	// Unsolicited: not an order; acknowledged by the listener, not stored.
	Unsolicited bool             `json:"unsolicited"`
	Orders      []map[string]any `json:"orders"`
}

func loadCorpus(t testing.TB) []corpusCase {
	t.Helper()
	files, err := filepath.Glob("testdata/corpus/*.hl7")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	var out []corpusCase
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		js, err := os.ReadFile(strings.TrimSuffix(f, ".hl7") + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var c corpusCase
		if err := json.Unmarshal(js, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		c.Name = strings.TrimSuffix(filepath.Base(f), ".hl7")
		if !c.KeepLF {
			raw = bytes.ReplaceAll(raw, []byte("\n"), []byte("\r"))
		}
		c.Raw = raw
		out = append(out, c)
	}
	return out
}

// checkOrderFields compares the listed fields of got (marshalled to JSON
// names) with want.
func checkOrderFields(t *testing.T, name string, got any, want map[string]any) {
	t.Helper()
	js, _ := json.Marshal(got)
	var m map[string]any
	json.Unmarshal(js, &m) //nolint:errcheck
	for k, v := range want {
		if gv, ok := m[k]; !ok || gv != v {
			t.Errorf("%s: %s = %#v, want %#v", name, k, m[k], v)
		}
	}
}

func TestCorpusExtraction(t *testing.T) {
	x := &Extractor{}
	for _, c := range loadCorpus(t) {
		t.Run(c.Name, func(t *testing.T) {
			m, err := Parse(c.Raw)
			if err != nil {
				if c.Ack != "AR" {
					t.Fatalf("parse: %v", err)
				}
				return
			}
			orders, rej := x.Extract(m)
			mode := ModeOf(m)
			if c.Unsolicited {
				if rej == nil || rej.ErrCode != c.Err {
					t.Fatalf("extracted %v, want a rejection %s", rej, c.Err)
				}
				return
			}
			if rej != nil {
				if got := string(mode.Code(rej.Code)); got != c.Ack || rej.ErrCode != c.Err {
					t.Fatalf("rejected %s/%s (%s), want %s/%s", got, rej.ErrCode, rej.Text, c.Ack, c.Err)
				}
				return
			}
			if got := string(mode.Code(AA)); got != c.Ack {
				t.Fatalf("accepted (%s), want %s", got, c.Ack)
			}
			if len(orders) != len(c.Orders) {
				t.Fatalf("%d orders, want %d", len(orders), len(c.Orders))
			}
			for i := range orders {
				checkOrderFields(t, c.Name, orders[i], c.Orders[i])
			}
		})
	}
}
