package ul

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// PS3.8 Table 9-10, transcribed a second time in the standard's own layout
// (one line per event, one column per state Sta1…Sta13, "." for an empty
// cell), so that the table in fsm.go is checked cell by cell.
const standardTable = `
Evt1  AE-1 .    .    .    .    .    .    .    .    .     .     .     .
Evt2  .    .    .    AE-2 .    .    .    .    .    .     .     .     .
Evt3  .    AA-1 AA-8 .    AE-3 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6
Evt4  .    AA-1 AA-8 .    AE-4 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6
Evt5  AE-5 .    .    .    .    .    .    .    .    .     .     .     .
Evt6  .    AE-6 AA-8 .    AA-8 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-7
Evt7  .    .    AE-7 .    .    .    .    .    .    .     .     .     .
Evt8  .    .    AE-8 .    .    .    .    .    .    .     .     .     .
Evt9  .    .    .    .    .    DT-1 .    AR-7 .    .     .     .     .
Evt10 .    AA-1 AA-8 .    AA-8 DT-2 AR-6 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6
Evt11 .    .    .    .    .    AR-1 .    .    .    .     .     .     .
Evt12 .    AA-1 AA-8 .    AA-8 AR-2 AR-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6
Evt13 .    AA-1 AA-8 .    AA-8 AA-8 AR-3 AA-8 AA-8 AR-10 AR-3  AA-8  AA-6
Evt14 .    .    .    .    .    .    .    AR-4 AR-9 .     .     AR-4  .
Evt15 .    .    AA-1 AA-2 AA-1 AA-1 AA-1 AA-1 AA-1 AA-1  AA-1  AA-1  .
Evt16 .    AA-2 AA-3 .    AA-3 AA-3 AA-3 AA-3 AA-3 AA-3  AA-3  AA-3  AA-2
Evt17 .    AA-5 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4  AA-4  AA-4  AR-5
Evt18 .    AA-2 .    .    .    .    .    .    .    .     .     .     AA-2
Evt19 .    AA-1 AA-8 .    AA-8 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-7
`

// Every (state, event) pair of the machine has the action PS3.8 defines.
func TestTransitionTable(t *testing.T) {
	rows := strings.Split(strings.TrimSpace(standardTable), "\n")
	if len(rows) != 19 {
		t.Fatalf("%d rows", len(rows))
	}
	for i, row := range rows {
		f := strings.Fields(row)
		e := Event(i + 1)
		if f[0] != e.String() || len(f) != 14 {
			t.Fatalf("row %q", row)
		}
		for s := Sta1; s <= Sta13; s++ {
			want := strings.ReplaceAll(f[s], ".", "-")
			if got := Transition(s, e).String(); got != want {
				t.Errorf("(%v, %v): %s, PS3.8 says %s", s, e, got, want)
			}
		}
	}
	if Transition(0, Evt1) != NoAction || Transition(Sta1, 20) != NoAction {
		t.Error("out-of-range pairs must have no action")
	}
}

// What the peer sees of each acceptor action.
var observed = map[Action]string{
	AE6: "AC", AA1: "ABORT", AA7: "ABORT", AA8: "ABORT",
	AA2: "closed", AA3: "closed", AA4: "closed", AA5: "closed", AR5: "closed", AA6: "closed",
	DT2: "PDV", AR2: "RP",
}

// wireEvents are the events a peer can cause, with the bytes that cause them.
func wireEvents() map[Event][]byte {
	rq := testRQ().Encode()
	ac := (&AssociateAC{ProtocolVersion: 1, ApplicationContext: "1.2.840.10008.3.1.1.1",
		Contexts: []ContextResult{{ID: 1, Result: ResultAcceptance, TransferSyntax: "1.2.840.10008.1.2"}}}).Encode()
	return map[Event][]byte{
		Evt3:  ac,
		Evt4:  EncodeReject(1, 1, 1),
		Evt6:  rq,
		Evt10: EncodePDataTF(1, PDVCommand|PDVLast, []byte{1, 2}),
		Evt12: EncodeRelease(TypeReleaseRQ),
		Evt13: EncodeRelease(TypeReleaseRP),
		Evt16: EncodeAbort(0, 0),
		Evt17: nil, // the peer closes
		Evt18: {},  // the peer sends nothing: ARTIM expires
		Evt19: {0x09, 0, 0, 0, 0, 4, 0, 0, 0, 0},
	}
}

func testRQ() *AssociateRQ {
	return &AssociateRQ{ProtocolVersion: 1, CalledAE: "RADRAFT", CallingAE: "FSM", ApplicationContext: "1.2.840.10008.3.1.1.1",
		Contexts: []PresentationContext{{ID: 1, AbstractSyntax: "1.2.840.10008.1.1", TransferSyntaxes: []string{"1.2.840.10008.1.2"}}},
		UserInfo: UserInfo{MaxLength: 16384}}
}

// readWord reads what the acceptor sent next, as observed names it.
func readWord(nc net.Conn) string {
	var h [6]byte
	if _, err := io.ReadFull(nc, h[:]); err != nil {
		return "closed"
	}
	io.CopyN(io.Discard, nc, int64(binary.BigEndian.Uint32(h[2:]))) //nolint:errcheck
	switch h[0] {
	case TypeAssociateAC:
		return "AC"
	case TypeAssociateRJ:
		return "RJ"
	case TypeAbort:
		return "ABORT"
	case TypeReleaseRP:
		return "RP"
	}
	return fmt.Sprintf("PDU %#x", h[0])
}

// Every event a peer can cause, in every state an acceptor waits for the
// peer in (Sta2, Sta6, Sta13), over real TCP: the acceptor takes the
// table's action, and the peer sees that action's effect.
func TestAcceptorActions(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	opt := Options{ARTIM: 300 * time.Millisecond, IdleTimeout: 5 * time.Second, PDUTimeout: 5 * time.Second, MaxPDU: 64 << 10}
	accept := func(rq *AssociateRQ) (*AssociateAC, *Reject) {
		return Negotiate(rq, &Policy{AETitle: "RADRAFT", Accepts: func(string) bool { return true },
			TransferSyntaxes: []string{"1.2.840.10008.1.2"}, MaxPDU: 64 << 10}, "1.2.840.10008.3.1.1.1")
	}
	reject := func(*AssociateRQ) (*AssociateAC, *Reject) { return nil, &Reject{1, 1, 7} }
	for _, state := range []State{Sta2, Sta6, Sta13} {
		for ev, b := range wireEvents() {
			want := Transition(state, ev)
			if want == NoAction {
				continue // (Sta6, Evt18): ARTIM does not run in Sta6
			}
			t.Run(fmt.Sprintf("%v/%v", state, ev), func(t *testing.T) {
				peer, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer peer.Close()
				peer.SetDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck
				nc, err := ln.Accept()
				if err != nil {
					t.Fatal(err)
				}
				a := NewAcceptor(nc, opt)
				var mu sync.Mutex
				var taken []string
				a.Trace = func(s State, e Event, act Action) {
					mu.Lock()
					taken = append(taken, fmt.Sprintf("%v+%v=%v", s, e, act))
					mu.Unlock()
				}
				done := make(chan string, 1)
				switch state {
				case Sta2:
					go func() {
						if err := a.Establish(accept); err == nil {
							pdv, err := a.NextPDV(true) // Sta6 after AE-6/AE-7
							done <- fmt.Sprint(pdv.Length, err)
							a.Abort()
							return
						}
						done <- ""
					}()
				case Sta6:
					peer.Write(testRQ().Encode()) //nolint:errcheck
					if err := a.Establish(accept); err != nil {
						t.Fatal(err)
					}
					if w := readWord(peer); w != "AC" {
						t.Fatalf("got %s, want AC", w)
					}
					go func() {
						pdv, err := a.NextPDV(true)
						if errors.Is(err, ErrReleaseRQ) {
							a.Release() //nolint:errcheck
						} else if err == nil {
							done <- fmt.Sprintf("PDV %d", pdv.Length)
							a.Abort()
							return
						}
						done <- ""
					}()
				case Sta13:
					peer.Write(testRQ().Encode())                   //nolint:errcheck
					go func() { a.Establish(reject); done <- "" }() //nolint:errcheck
					if w := readWord(peer); w != "RJ" {
						t.Fatalf("got %s, want RJ", w)
					}
				}
				switch {
				case b == nil:
					peer.(*net.TCPConn).CloseWrite() //nolint:errcheck
				case len(b) > 0:
					if _, err := peer.Write(b); err != nil {
						t.Fatal(err)
					}
				}
				got := readWord(peer)
				if state == Sta2 && want == AE6 && got == "AC" {
					// then the association works: a P-DATA-TF is indicated
					peer.Write(EncodePDataTF(1, PDVCommand|PDVLast, []byte{1, 2})) //nolint:errcheck
					if r := <-done; r != "2 <nil>" {
						t.Fatalf("after AC: %s", r)
					}
				}
				if state == Sta6 && want == DT2 {
					if r := <-done; r != "PDV 2" {
						t.Fatalf("P-DATA indication: %s", r)
					}
					got = "PDV"
				}
				if got != observed[want] {
					t.Errorf("peer saw %s, want %s (%v)", got, observed[want], want)
				}
				mu.Lock()
				trace := strings.Join(taken, " ")
				mu.Unlock()
				if !strings.Contains(trace, fmt.Sprintf("%v+%v=%v", state, ev, want)) {
					t.Errorf("transitions %s lack %v+%v=%v", trace, state, ev, want)
				}
			})
		}
	}
}

var _ = bytes.MinRead
