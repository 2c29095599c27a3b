package hl7_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/hl7"
	"github.com/radraft/radraft/internal/testserve"
)

type hostilePart struct {
	Text      string `json:"text"`
	HexText   string `json:"hex_text"`
	Repeat    string `json:"repeat"`
	Count     int    `json:"count"`
	TrickleMS int    `json:"trickle_ms"`
}

type hostileCase struct {
	About  string        `json:"about"`
	Send   []hostilePart `json:"send"`
	Expect struct {
		Ack        string `json:"ack"`
		Err        string `json:"err"`
		ControlID  string `json:"control_id"`
		ThenClosed bool   `json:"then_closed"`
		Closed     bool   `json:"closed"`
		ClosedByUs bool   `json:"closed_by_us"`
	} `json:"expect"`
}

var hexEscape = regexp.MustCompile(`\\x([0-9A-Fa-f]{2})`)

func (p hostilePart) bytes() []byte {
	switch {
	case p.Repeat != "":
		return bytes.Repeat([]byte(p.Repeat), p.Count)
	case p.HexText != "":
		return hexEscape.ReplaceAllFunc([]byte(p.HexText), func(m []byte) []byte {
			b, _ := hex.DecodeString(string(m[2:]))
			return b
		})
	}
	return []byte(p.Text)
}

// play sends a case's parts on a new connection and returns what came back:
// the ACK (nil if none) and whether the server closed the connection.
func (hc *hostileCase) play(t *testing.T, addr string) (ack *hl7.Message, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		for _, p := range hc.Send {
			b := p.bytes()
			if p.TrickleMS == 0 {
				if _, err := c.Write(b); err != nil {
					return
				}
				continue
			}
			for i := range b {
				if _, err := c.Write(b[i : i+1]); err != nil {
					return
				}
				time.Sleep(time.Duration(p.TrickleMS) * time.Millisecond)
			}
		}
	}()
	if hc.Expect.ClosedByUs {
		return nil, false
	}
	r := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck
	raw, err := hl7.ReadFrame(r, 1<<20)
	if err != nil {
		return nil, err == io.EOF || strings.Contains(err.Error(), "reset")
	}
	ack, err = hl7.Parse(raw)
	if err != nil {
		t.Fatalf("answer does not parse: %q", raw)
	}
	if !hc.Expect.ThenClosed {
		return ack, false
	}
	_, err = r.ReadByte()
	return ack, err == io.EOF || err != nil && strings.Contains(err.Error(), "reset")
}

// TestHostileCorpus plays testdata/hostile against the real binary: each
// case gets its expected answer, a good order still gets AA after it, and
// the process survives all of them.
func TestHostileCorpus(t *testing.T) {
	files := testserve.Corpus(t, "testdata/hostile/*.json", 15)
	addr := testserve.FreeAddr(t)
	p := testserve.Start(t, []string{
		"RADRAFT_DATABASE_URL=" + draftstest.NewDatabase(t), "RADRAFT_ROLE=api", "RADRAFT_MLLP_ADDR=" + addr,
		"RADRAFT_MLLP_MESSAGE_TIMEOUT=2s", "RADRAFT_DICOM_ADDR=" + testserve.FreeAddr(t),
		"RADRAFT_HTTP_ADDR=" + testserve.FreeAddr(t), "RADRAFT_STORAGE_DIR=" + t.TempDir(),
	}, addr)
	good := &hl7.Client{Addr: addr, Timeout: 10 * time.Second}
	defer good.Close()
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var hc hostileCase
		if err := json.Unmarshal(b, &hc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ack, closed := hc.play(t, addr)
		want := hc.Expect
		switch {
		case want.Closed && (ack != nil || !closed):
			t.Errorf("%s: got %v (closed %v), want the connection closed without an answer", name, ackText(ack), closed)
		case want.Ack != "" && (ack == nil || ack.Value("MSA-1") != want.Ack ||
			want.Err != "" && ack.Value("ERR-3.1") != want.Err || want.ControlID != "" && ack.Value("MSA-2") != want.ControlID):
			t.Errorf("%s: got %s, want %s/%s for %q", name, ackText(ack), want.Ack, want.Err, want.ControlID)
		case want.ThenClosed && !closed:
			t.Errorf("%s: the connection stayed open after the answer", name)
		}
		t.Logf("%s: %s (closed %v)", name, ackText(ack), closed)
		if a, err := good.Send(t.Context(), order("GOOD-"+name[:2], "ACC-GOOD-"+name[:2])); err != nil || a.Code != hl7.AA {
			t.Fatalf("after %s a good order got %+v, %v\n%s", name, a, err, p.Log())
		}
	}
	select {
	case <-p.Done:
		t.Fatalf("radraft exited: %v", p.Err)
	default:
	}
}

func ackText(m *hl7.Message) string {
	if m == nil {
		return "no answer"
	}
	return m.Value("MSA-1") + " " + m.Value("ERR-3.1") + " " + m.Value("MSA-2") + " (" + m.Value("MSA-3") + ")"
}
