package server

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/hl7"
)

// mllpReceiver is a minimal RIS: it stores every message and answers AA.
type mllpReceiver struct {
	code hl7.AckCode // AA when empty
	ln   net.Listener
	mu   sync.Mutex
	msgs []*hl7.Message
}

func startReceiver(t *testing.T, addr string) *mllpReceiver {
	return startReceiverCode(t, addr, hl7.AA)
}

func startReceiverCode(t *testing.T, addr string, code hl7.AckCode) *mllpReceiver {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port was just closed: retry briefly
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	r := &mllpReceiver{ln: ln, code: code}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					raw, err := hl7.ReadFrame(br, 1<<20)
					if err != nil {
						return
					}
					m, err := hl7.Parse(raw)
					if err != nil {
						return
					}
					r.mu.Lock()
					r.msgs = append(r.msgs, m)
					r.mu.Unlock()
					if err := hl7.WriteFrame(c, hl7.BuildAck(m, raw, hl7.AckOptions{Code: r.code})); err != nil {
						return
					}
				}
			}(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return r
}

func (r *mllpReceiver) received() []*hl7.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*hl7.Message(nil), r.msgs...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestORUDeliveredWithRetry(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const uid = "1.2.840.99.1"
	e.seedStudy(uid, "ACC9", "MRN9", "DOE^JOHN", "2026-11-25", "No acute findings.\nLungs are clear.")

	// The RIS is down: take a free port and close it.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()

	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	loop := &ResultsLoop{Store: e.store, Send: MLLPSender(addr, 2*time.Second), Poll: 20 * time.Millisecond,
		BaseBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, SendingApp: "RADRAFT"}
	go func() { defer close(done); loop.Run(lctx) }() //nolint:errcheck
	defer func() { cancel(); <-done }()

	if _, err := e.store.SignReport(ctx, drafts.ReportChange{StudyUID: uid, IfVersion: 1, Actor: "radiologist1"}, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "failed attempts", func() bool {
		return e.count(`SELECT count(*) FROM outbox WHERE state='pending' AND attempts >= 2 AND last_error <> ''`) == 1
	})

	// The RIS comes up: the row is delivered on a retry.
	rcv := startReceiver(t, addr)
	waitFor(t, "delivery", func() bool { return e.count(`SELECT count(*) FROM outbox WHERE state='sent'`) == 1 })
	msgs := rcv.received()
	if len(msgs) != 1 {
		t.Fatalf("received %d messages", len(msgs))
	}
	m := msgs[0]
	var id int64
	e.store.DB().QueryRow(ctx, `SELECT id FROM outbox`).Scan(&id) //nolint:errcheck
	if m.Type() != "ORU^R01" || m.ControlID() != "RR"+itoa64(id) || m.Value("OBR-25") != "F" || m.Value("OBR-18") != "ACC9" || m.Value("PID-3") != "MRN9" {
		t.Fatalf("ORU: type %s control %s OBR-25 %s OBR-18 %s PID-3 %s", m.Type(), m.ControlID(), m.Value("OBR-25"), m.Value("OBR-18"), m.Value("PID-3"))
	}
	var lines []string
	for _, s := range m.Segments {
		if s.Name == "OBX" {
			if s.Get(2, 1) != "TX" {
				t.Fatalf("OBX-2 %q", s.Get(2, 1))
			}
			lines = append(lines, s.Get(5, 1))
		}
	}
	if strings.Join(lines, "\n") != "No acute findings.\nLungs are clear." {
		t.Fatalf("OBX text %q", lines)
	}

	// An amendment goes out as a corrected result (OBR-25 C).
	if _, err := e.store.AmendReport(ctx, drafts.ReportChange{StudyUID: uid, IfVersion: 2, Findings: "Small right effusion.",
		Reason: "missed", Actor: "radiologist1"}, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "amendment", func() bool { return len(rcv.received()) == 2 })
	if m := rcv.received()[1]; m.Value("OBR-25") != "C" {
		t.Fatalf("amendment OBR-25 %q", m.Value("OBR-25"))
	}
}

// A receiver that rejects the message (AR) is not retried: the row fails.
func TestORURejectedIsNotRetried(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.seedStudy("1.2.840.99.2", "ACC8", "MRN8", "DOE^JOHN", "2026-11-25", "Clear lungs.")
	rcv := startReceiverCode(t, "127.0.0.1:0", hl7.AR)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	loop := &ResultsLoop{Store: e.store, Send: MLLPSender(rcv.ln.Addr().String(), 2*time.Second), Poll: 20 * time.Millisecond,
		BaseBackoff: 20 * time.Millisecond}
	go func() { defer close(done); loop.Run(lctx) }() //nolint:errcheck
	defer func() { cancel(); <-done }()
	if _, err := e.store.SignReport(ctx, drafts.ReportChange{StudyUID: "1.2.840.99.2", IfVersion: 1, Actor: "radiologist1"}, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "failed row", func() bool {
		return e.count(`SELECT count(*) FROM outbox WHERE state='failed' AND attempts=1`) == 1
	})
	time.Sleep(100 * time.Millisecond)
	if n := len(rcv.received()); n != 1 {
		t.Fatalf("sent %d times", n)
	}
}
