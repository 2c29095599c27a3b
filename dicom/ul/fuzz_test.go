package ul

import (
	"bytes"
	"errors"
	"io"
	"net"
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

// FuzzReadPDU reads an association's worth of PDUs as the SCP does: the
// A-ASSOCIATE-RQ, then PDVs (data read, command sets decoded) until an
// error. It must never panic, loop or allocate beyond its caps. Seeds: the
// malformed corpus of dicom/scp (testdata/fuzz/FuzzReadPDU).
func FuzzReadPDU(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 4, 0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewConn(byteConn{bytes.NewReader(data)}, 4096)
		c.MaxPDU = 64 << 10
		typ, rq, err := c.ReadAssociate()
		if err == nil && typ == TypeAssociateRQ {
			// Re-encoding what was decoded must decode to the same contexts.
			back, err := DecodeAssociate(TypeAssociateRQ, rq.Encode(TypeAssociateRQ)[6:])
			if err != nil || len(back.Contexts) != len(rq.Contexts) {
				t.Fatalf("re-encoded RQ: %v (%d vs %d contexts)", err, len(back.Contexts), len(rq.Contexts))
			}
		}
		var cmd []byte
		for i := 0; i < 10000; i++ {
			pdv, err := c.NextPDV()
			if err != nil {
				var pe *ProtocolError
				if errors.As(err, &pe) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
					errors.Is(err, ErrReleaseRQ) || errors.Is(err, ErrReleaseRP) || errors.Is(err, ErrPeerAborted) {
					return
				}
				t.Fatalf("unexpected error kind: %v", err)
			}
			if pdv.Length > int(c.MaxPDU) {
				t.Fatalf("PDV of %d bytes passed a %d cap", pdv.Length, c.MaxPDU)
			}
			b, err := io.ReadAll(c)
			if err != nil {
				return
			}
			if len(b) != pdv.Length {
				t.Fatalf("read %d bytes of a %d-byte PDV", len(b), pdv.Length)
			}
			if pdv.Command() && len(cmd) < dimse.MaxCommandSize {
				cmd = append(cmd, b...)
				if pdv.Last() {
					dimse.Decode(cmd) //nolint:errcheck
					cmd = nil
				}
			}
		}
	})
}
