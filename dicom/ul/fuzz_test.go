package ul

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/radraft/radraft/dicom/dimse"
)

// byteConn is a net.Conn reading from a byte slice and discarding writes.
type byteConn struct{ r *bytes.Reader }

func (c byteConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c byteConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c byteConn) Close() error                     { return nil }
func (c byteConn) LocalAddr() net.Addr              { return nil }
func (c byteConn) RemoteAddr() net.Addr             { return nil }
func (c byteConn) SetDeadline(time.Time) error      { return nil }
func (c byteConn) SetReadDeadline(time.Time) error  { return nil }
func (c byteConn) SetWriteDeadline(time.Time) error { return nil }

var fuzzPolicy = &Policy{AETitle: "RADRAFT", Accepts: func(string) bool { return true },
	TransferSyntaxes: []string{"1.2.840.10008.1.2.1", "1.2.840.10008.1.2"}, MaxPDU: 64 << 10}

// FuzzAcceptor drives a whole association from raw bytes through the
// acceptor's state machine, as radraft's listener does: establishment
// (negotiated against a permissive policy), then P-DATA indications whose
// data is read and whose command sets are decoded and answered, until the
// association ends. It must never panic, loop, or allocate more than a
// constant plus a small multiple of what it was given. Seeds: the malformed
// corpus of dicom/scp (testdata/fuzz/FuzzAcceptor).
func FuzzAcceptor(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 4, 0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		a := NewAcceptor(byteConn{bytes.NewReader(data)}, Options{ARTIM: time.Second, IdleTimeout: time.Second,
			PDUTimeout: time.Second, MaxPDU: 64 << 10})
		err := a.Establish(func(rq *AssociateRQ) (*AssociateAC, *Reject) {
			return Negotiate(rq, fuzzPolicy, "1.2.840.10008.3.1.1.1")
		})
		if err == nil {
			driveSta6(t, a)
		}
		if s := a.State(); s != Sta1 {
			t.Fatalf("association over in %v", s)
		}
		runtime.ReadMemStats(&after)
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20+16*uint64(len(data)) {
			t.Fatalf("%d bytes of input allocated %d bytes", len(data), grown)
		}
	})
}

// driveSta6 is a minimal DIMSE user: it reads every PDV, decodes command
// sets, answers each with a response, and releases when asked.
func driveSta6(t *testing.T, a *Association) {
	var cmd []byte
	for i := 0; i < 100000; i++ {
		pdv, err := a.NextPDV(len(cmd) == 0)
		if errors.Is(err, ErrReleaseRQ) {
			if err := a.Release(); err != nil {
				t.Fatalf("release: %v", err)
			}
			return
		}
		if err != nil {
			return // the machine has already ended the association
		}
		b, err := io.ReadAll(a)
		if err != nil {
			return
		}
		if len(b) != pdv.Length {
			t.Fatalf("read %d bytes of a %d-byte PDV", len(b), pdv.Length)
		}
		if !pdv.Command() {
			continue
		}
		if cmd = append(cmd, b...); len(cmd) > dimse.MaxCommandSize {
			a.Abort()
			return
		}
		if pdv.Last() {
			c, err := dimse.Decode(cmd)
			cmd = nil
			if err != nil {
				a.Abort()
				return
			}
			a.Send(pdv.ContextID, true, dimse.Response(c, 0, "").Encode()) //nolint:errcheck
		}
	}
	t.Fatal("the association did not end")
}
