package hl7_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/radraft/radraft/hl7"
	"github.com/radraft/radraft/internal/panics"
)

// expectClosed fails unless the server closes c without answering within d.
func (c *conn) expectClosed(t *testing.T, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	c.c.SetReadDeadline(time.Now().Add(d)) //nolint:errcheck
	b, err := io.ReadAll(c.r)
	if err != nil || len(b) != 0 {
		t.Fatalf("want the connection closed without an answer within %s; got %q, %v", d, b, err)
	}
	return time.Since(start)
}

// A handler that panics costs one message: it is answered AR, nothing about
// it (PHI) is logged but the panic's type and place, the panic is counted,
// and the next message on the same connection is served.
func TestHandlerPanicCostsOneMessage(t *testing.T) {
	store, addr := startServer(t, func(s *hl7.Server) {
		var logBuf bytes.Buffer
		s.Log = slog.New(slog.NewTextHandler(&logBuf, nil))
		orders := s.Handler
		s.Handler = hl7.HandlerFunc(func(ctx context.Context, raw []byte, remote string) []byte {
			if bytes.Contains(raw, []byte("PANICME")) {
				panic(errors.New("cannot handle " + string(raw)))
			}
			return orders.Handle(ctx, raw, remote)
		})
		t.Cleanup(func() {
			if strings.Contains(logBuf.String(), "DOE") {
				t.Errorf("the log holds the message: %s", logBuf.String())
			}
			if !strings.Contains(logBuf.String(), "panic recovered") {
				t.Errorf("the panic was not logged: %s", logBuf.String())
			}
		})
	})
	before := testutil.ToFloat64(panics.Recovered.WithLabelValues("hl7"))
	c := dial(t, addr)
	ack := c.roundTrip(t, order("PANICME", "ACCPANIC"))
	if ack.Value("MSA-1") != "AR" || ack.Value("MSA-2") != "PANICME" || ack.Value("ERR-3.1") != hl7.ErrApplicationError {
		t.Fatalf("panicking handler: %s %s %s", ack.Value("MSA-1"), ack.Value("MSA-2"), ack.Value("ERR-3.1"))
	}
	if ack := c.roundTrip(t, order("AFTERPANIC", "ACCAFTER")); ack.Value("MSA-1") != "AA" {
		t.Fatalf("next message: %s", ack.Value("MSA-1"))
	}
	if storedMessages(t, store, "PANICME") != 0 || storedMessages(t, store, "AFTERPANIC") != 1 {
		t.Fatal("stored messages")
	}
	if got := testutil.ToFloat64(panics.Recovered.WithLabelValues("hl7")); got != before+1 {
		t.Errorf("panics counted %v, want %v", got, before+1)
	}
}

// A frame trickled byte by byte is cut at MessageTimeout from its first
// byte, though each byte arrives well within the idle timeout.
func TestTrickleCannotHoldAConnection(t *testing.T) {
	_, addr := startServer(t, func(s *hl7.Server) {
		s.IdleTimeout = 10 * time.Second
		s.MessageTimeout = 500 * time.Millisecond
	})
	c := dial(t, addr)
	var buf bytes.Buffer
	hl7.WriteFrame(&buf, order("TRICKLE", "ACCTR")) //nolint:errcheck
	start := time.Now()
	closed := false
	for _, b := range buf.Bytes()[:100] {
		if _, err := c.c.Write([]byte{b}); err != nil {
			closed = true
			break
		}
		time.Sleep(50 * time.Millisecond)
		if time.Since(start) > 3*time.Second {
			break
		}
	}
	if !closed {
		c.expectClosed(t, 5*time.Second)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("the trickle held the connection %s", d)
	}
}

// At the connection cap, the connection idle longest makes room for a new
// sender; when every connection is inside a message, the new one is closed.
func TestIdleConnectionsMakeRoom(t *testing.T) {
	_, addr := startServer(t, func(s *hl7.Server) {
		s.MaxConns = 4
		s.MessageTimeout = 20 * time.Second
	})
	var idle []*conn
	for i := 0; i < 4; i++ {
		idle = append(idle, dial(t, addr))
		time.Sleep(20 * time.Millisecond) // distinct idle-since times
	}
	time.Sleep(100 * time.Millisecond)
	sender := dial(t, addr)
	if ack := sender.roundTrip(t, order("ROOM1", "ACCROOM1")); ack.Value("MSA-1") != "AA" {
		t.Fatalf("sender at the cap: %s", ack.Value("MSA-1"))
	}
	idle[0].expectClosed(t, 5*time.Second) // the oldest made room

	// Now fill every slot with a connection inside a frame.
	sender.c.Close()
	for _, c := range idle[1:] {
		c.c.Write([]byte{hl7.StartBlock, 'M'}) //nolint:errcheck
	}
	time.Sleep(200 * time.Millisecond)
	busy := dial(t, addr)                     // takes the slot the sender left
	busy.c.Write([]byte{hl7.StartBlock, 'M'}) //nolint:errcheck
	time.Sleep(200 * time.Millisecond)
	refused := dial(t, addr)
	refused.expectClosed(t, 5*time.Second)
	// The busy ones are still served.
	var buf bytes.Buffer
	hl7.WriteFrame(&buf, order("BUSY1", "ACCBUSY1")) //nolint:errcheck
	busy.c.Write(buf.Bytes()[2:])                    //nolint:errcheck
	if ack := busy.readAck(t); ack.Value("MSA-1") != "AA" || ack.Value("MSA-2") != "BUSY1" {
		t.Fatalf("busy connection: %s %s", ack.Value("MSA-1"), ack.Value("MSA-2"))
	}
}

// A frame far over the limit is read to its end and answered AR, without
// the server keeping more than the limit; one still unfinished at the
// message deadline is answered AR and the connection closed.
func TestOversizedFrameAnsweredAR(t *testing.T) {
	_, addr := startServer(t, func(s *hl7.Server) {
		if testing.Verbose() {
			s.Log = slog.Default()
		}
		s.MaxMessage = 4096
		s.MessageTimeout = 2 * time.Second
	})
	big := make([]byte, 0, 32<<20)
	big = append(big, hl7.StartBlock)
	big = append(big, order("HUGE1", "ACCHUGE")...)
	big = append(big, "NTE|1||"...)
	big = append(big, bytes.Repeat([]byte("x"), 32<<20-len(big)-3)...)
	big = append(big, '\r', hl7.EndBlock, hl7.CarriageR)

	c := dial(t, addr)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	allocBefore := ms.TotalAlloc
	go c.c.Write(big) //nolint:errcheck
	ack := c.readAck(t)
	runtime.ReadMemStats(&ms)
	if ack.Value("MSA-1") != "AR" || ack.Value("MSA-2") != "HUGE1" || !strings.Contains(ack.Value("MSA-3"), "4096") {
		t.Fatalf("32 MiB frame: %s %s %q", ack.Value("MSA-1"), ack.Value("MSA-2"), ack.Value("MSA-3"))
	}
	if alloc := ms.TotalAlloc - allocBefore; alloc > 4<<20 {
		t.Errorf("reading a 32 MiB frame allocated %d bytes", alloc)
	}
	if ack := c.roundTrip(t, order("AFTERHUGE", "ACCAH")); ack.Value("MSA-1") != "AA" {
		t.Fatalf("after the big frame: %s", ack.Value("MSA-1"))
	}

	// Oversized and stalled: AR at the deadline, then closed.
	c = dial(t, addr)
	c.c.Write(append([]byte{hl7.StartBlock}, big[1:8192]...)) //nolint:errcheck
	if ack := c.readAck(t); ack.Value("MSA-1") != "AR" || ack.Value("MSA-2") != "HUGE1" {
		t.Fatalf("stalled big frame: %s %s", ack.Value("MSA-1"), ack.Value("MSA-2"))
	}
	c.expectClosed(t, 5*time.Second)
}

// Other message types on the order feed: AA without storing by default, AR
// when configured; an ACK is not answered.
func TestUnsolicitedTypes(t *testing.T) {
	adt := []byte("MSH|^~\\&|ADT|HOSP|RADRAFT|HOSP|20260127083012||ADT^A08|ADT1|P|2.3\rPID|1||MRN1^^^HOSP^MR||DOE^JOHN\r")
	ackMsg := []byte("MSH|^~\\&|RIS|HOSP|RADRAFT|HOSP|20260127083012||ACK^O01|ACK1|P|2.3\rMSA|AA|X1\r")
	v3 := []byte("MSH|^~\\&|ADT|HOSP|RADRAFT|HOSP|20260127083012||ADT^A08|V3|P|3.0\r")

	store, addr := startServer(t, nil)
	c := dial(t, addr)
	if ack := c.roundTrip(t, adt); ack.Value("MSA-1") != "AA" || ack.Value("MSA-2") != "ADT1" {
		t.Fatalf("ADT: %s %s", ack.Value("MSA-1"), ack.Value("MSA-2"))
	}
	if storedMessages(t, store, "ADT1") != 0 {
		t.Fatal("ADT stored")
	}
	if ack := c.roundTrip(t, v3); ack.Value("MSA-1") != "AR" {
		t.Fatalf("another version: %s", ack.Value("MSA-1"))
	}
	var buf bytes.Buffer
	hl7.WriteFrame(&buf, ackMsg)                    //nolint:errcheck
	hl7.WriteFrame(&buf, order("AFTERACK", "ACCA")) //nolint:errcheck
	c.c.Write(buf.Bytes())                          //nolint:errcheck
	if ack := c.readAck(t); ack.Value("MSA-2") != "AFTERACK" || ack.Value("MSA-1") != "AA" {
		t.Fatalf("after an ACK, the next answer is %s for %s", ack.Value("MSA-1"), ack.Value("MSA-2"))
	}

	_, addr = startServer(t, func(s *hl7.Server) { s.Handler.(*hl7.OrderHandler).RejectUnsolicited = true })
	c = dial(t, addr)
	if ack := c.roundTrip(t, adt); ack.Value("MSA-1") != "AR" || ack.Value("ERR-3.1") != hl7.ErrUnsupportedMsgType {
		t.Fatalf("ADT rejected: %s %s", ack.Value("MSA-1"), ack.Value("ERR-3.1"))
	}
}
