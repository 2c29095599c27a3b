package ul

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// ErrInterrupted is returned by reads of an association that was
// interrupted (server shutdown) while waiting for its next message.
var ErrInterrupted = errors.New("ul: association interrupted")

// deadlineReader refreshes the read deadline before every read of the
// socket, so a peer that stalls mid-PDU is cut off after one timeout, and a
// peer that keeps sending is never cut off however long the transfer.
type deadlineReader struct {
	c           net.Conn
	mu          sync.Mutex
	timeout     time.Duration
	idle        bool
	interrupted bool
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	d.mu.Lock()
	if d.interrupted && d.idle {
		d.mu.Unlock()
		return 0, ErrInterrupted
	}
	if d.timeout > 0 {
		d.c.SetReadDeadline(time.Now().Add(d.timeout)) //nolint:errcheck
	}
	d.mu.Unlock()
	n, err := d.c.Read(p)
	if err != nil && d.wasInterrupted() {
		return n, ErrInterrupted
	}
	return n, err
}

func (d *deadlineReader) wasInterrupted() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.interrupted && d.idle
}

// Conn is one association's transport: buffered PDU reading with caps and
// refreshed deadlines, and fragmenting writes.
type Conn struct {
	nc  net.Conn
	dr  *deadlineReader
	br  *bufio.Reader
	wmu sync.Mutex

	// MaxPDU is the largest PDU (length field) we accept from the peer.
	MaxPDU uint32
	// PeerMaxPDU is the largest P-DATA-TF PDU the peer accepts; 0 = no limit.
	PeerMaxPDU uint32
	// WriteTimeout bounds each write.
	WriteTimeout time.Duration

	// state of the P-DATA-TF PDU being read
	pduLeft uint32
	pdvLeft int64
}

// NewConn wraps nc. Reads use a buffer of bufSize bytes (large PDV data is
// read straight into the caller's buffer, bypassing it).
func NewConn(nc net.Conn, bufSize int) *Conn {
	dr := &deadlineReader{c: nc}
	return &Conn{nc: nc, dr: dr, br: bufio.NewReaderSize(dr, bufSize), MaxPDU: 1 << 20, WriteTimeout: time.Minute}
}

// NetConn is the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// SetReadTimeout sets the deadline applied afresh before every read; idle
// says the association is between messages (and so may be interrupted).
func (c *Conn) SetReadTimeout(d time.Duration, idle bool) {
	c.dr.mu.Lock()
	c.dr.timeout = d
	c.dr.idle = idle
	if c.dr.interrupted && idle {
		c.nc.SetReadDeadline(time.Unix(1, 0)) //nolint:errcheck
	}
	c.dr.mu.Unlock()
}

// Interrupt asks the association to stop: a read waiting for the next
// message fails at once with ErrInterrupted; a message being received is
// finished first (Interrupted reports it at the next boundary).
func (c *Conn) Interrupt() {
	c.dr.mu.Lock()
	c.dr.interrupted = true
	if c.dr.idle {
		c.nc.SetReadDeadline(time.Unix(1, 0)) //nolint:errcheck
	}
	c.dr.mu.Unlock()
}

// Interrupted reports whether Interrupt was called.
func (c *Conn) Interrupted() bool {
	c.dr.mu.Lock()
	defer c.dr.mu.Unlock()
	return c.dr.interrupted
}

// Buffered reports whether received bytes wait in the read buffer.
func (c *Conn) Buffered() int { return c.br.Buffered() }

// ReadAssociate reads the first PDU of an association, which must be an
// A-ASSOCIATE-RQ (acceptor) or AC/RJ (requestor). For RJ it returns the
// result/source/reason in a *RejectError.
func (c *Conn) ReadAssociate() (byte, *AssociateRQ, error) {
	h, err := ReadHeader(c.br)
	if err != nil {
		return 0, nil, err
	}
	switch h.Type {
	case TypeAssociateRQ, TypeAssociateAC:
	case TypeAssociateRJ:
		if h.Length != 4 {
			return h.Type, nil, protoErr(AbortInvalidParam, "A-ASSOCIATE-RJ of length %d", h.Length)
		}
		var b [4]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return h.Type, nil, err
		}
		return h.Type, nil, &RejectError{Result: b[1], Source: b[2], Reason: b[3]}
	case TypeAbort:
		return h.Type, nil, ErrPeerAborted
	default:
		if h.Type < TypeAssociateRQ || h.Type > TypeAbort {
			return h.Type, nil, protoErr(AbortUnrecognizedPDU, "unknown PDU type %#x", h.Type)
		}
		return h.Type, nil, protoErr(AbortUnexpectedPDU, "PDU type %#x before association", h.Type)
	}
	if h.Length > MaxNegotiationPDU || h.Length > c.MaxPDU && h.Length > 64<<10 {
		return h.Type, nil, protoErr(AbortInvalidParam, "A-ASSOCIATE PDU of %d bytes: %v", h.Length, ErrPDUTooLarge)
	}
	body := make([]byte, h.Length)
	if _, err := io.ReadFull(c.br, body); err != nil {
		return h.Type, nil, err
	}
	a, err := DecodeAssociate(h.Type, body)
	return h.Type, a, err
}

// RejectError is an A-ASSOCIATE-RJ received from the peer.
type RejectError struct{ Result, Source, Reason byte }

func (e *RejectError) Error() string {
	return fmt.Sprintf("ul: association rejected (result %d, source %d, reason %d)", e.Result, e.Source, e.Reason)
}

// ErrPeerAborted is returned when the peer sends A-ABORT.
var ErrPeerAborted = errors.New("ul: peer aborted the association")

// ErrReleaseRQ and ErrReleaseRP report release PDUs read by Next.
var (
	ErrReleaseRQ = errors.New("ul: A-RELEASE-RQ")
	ErrReleaseRP = errors.New("ul: A-RELEASE-RP")
)

// PDV is the header of one presentation data value; its data is read from
// the Conn (Read) before the next call to NextPDV.
type PDV struct {
	ContextID byte
	Control   byte
	Length    int // of the data
}

// Command reports whether the PDV carries a command (else a dataset).
func (p PDV) Command() bool { return p.Control&PDVCommand != 0 }

// Last reports whether this is the last fragment of its command or dataset.
func (p PDV) Last() bool { return p.Control&PDVLast != 0 }

// NextPDV returns the next PDV, reading P-DATA-TF PDUs as needed. A release
// or abort from the peer comes back as ErrReleaseRQ/ErrPeerAborted; any
// other PDU, a PDU over MaxPDU or a malformed PDV is a *ProtocolError.
// Unread data of the previous PDV is discarded.
func (c *Conn) NextPDV() (PDV, error) {
	if c.pdvLeft > 0 {
		if _, err := c.br.Discard(int(c.pdvLeft)); err != nil {
			return PDV{}, err
		}
		c.pdvLeft = 0
	}
	if c.pduLeft == 0 {
		h, err := ReadHeader(c.br)
		if err != nil {
			return PDV{}, err
		}
		switch h.Type {
		case TypePDataTF:
		case TypeReleaseRQ, TypeReleaseRP:
			if h.Length != 4 {
				return PDV{}, protoErr(AbortInvalidParam, "release PDU of length %d", h.Length)
			}
			if _, err := c.br.Discard(4); err != nil {
				return PDV{}, err
			}
			if h.Type == TypeReleaseRQ {
				return PDV{}, ErrReleaseRQ
			}
			return PDV{}, ErrReleaseRP
		case TypeAbort:
			return PDV{}, ErrPeerAborted
		case TypeAssociateRQ, TypeAssociateAC, TypeAssociateRJ:
			return PDV{}, protoErr(AbortUnexpectedPDU, "PDU type %#x during association", h.Type)
		default:
			return PDV{}, protoErr(AbortUnrecognizedPDU, "unknown PDU type %#x", h.Type)
		}
		if h.Length > c.MaxPDU {
			return PDV{}, protoErr(AbortInvalidParam, "P-DATA-TF of %d bytes, over %d: %v", h.Length, c.MaxPDU, ErrPDUTooLarge)
		}
		if h.Length < 6 {
			return PDV{}, protoErr(AbortInvalidParam, "P-DATA-TF of %d bytes holds no PDV", h.Length)
		}
		c.pduLeft = h.Length
	}
	if c.pduLeft < 6 {
		return PDV{}, protoErr(AbortInvalidParam, "%d stray bytes at the end of a P-DATA-TF", c.pduLeft)
	}
	var b [6]byte
	if _, err := io.ReadFull(c.br, b[:]); err != nil {
		return PDV{}, unexpectedEOF(err)
	}
	c.pduLeft -= 6
	n := binary.BigEndian.Uint32(b[:4])
	if n < 2 || n-2 > c.pduLeft {
		return PDV{}, protoErr(AbortInvalidParam, "PDV item length %d does not fit its PDU", n)
	}
	p := PDV{ContextID: b[4], Control: b[5], Length: int(n - 2)}
	if p.Control&^(PDVCommand|PDVLast) != 0 {
		return PDV{}, protoErr(AbortInvalidParam, "PDV control header %#x", p.Control)
	}
	c.pduLeft -= n - 2
	c.pdvLeft = int64(n - 2)
	return p, nil
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Read reads data of the current PDV; io.EOF at its end.
func (c *Conn) Read(p []byte) (int, error) {
	if c.pdvLeft == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.pdvLeft {
		p = p[:c.pdvLeft]
	}
	n, err := c.br.Read(p)
	c.pdvLeft -= int64(n)
	if err != nil {
		err = unexpectedEOF(err)
	}
	return n, err
}

// InPDU reports whether part of a P-DATA-TF PDU is still unread.
func (c *Conn) InPDU() bool { return c.pduLeft > 0 || c.pdvLeft > 0 }

func (c *Conn) write(b []byte) error {
	if c.WriteTimeout > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(c.WriteTimeout)) //nolint:errcheck
	}
	_, err := c.nc.Write(b)
	return err
}

// WritePDU writes an encoded PDU.
func (c *Conn) WritePDU(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(b)
}

// maxFragment is the most data one PDV may carry towards the peer.
func (c *Conn) maxFragment() int {
	const dflt = 256 << 10
	if c.PeerMaxPDU == 0 || c.PeerMaxPDU > dflt+6 {
		return dflt
	}
	return int(c.PeerMaxPDU) - 6
}

// WriteFragments sends data as PDVs of context ctxID, fragmented to the
// peer's maximum PDU length; command says whether it is a command set.
func (c *Conn) WriteFragments(ctxID byte, command bool, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	max := c.maxFragment()
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), max)
		ctrl := byte(0)
		if command {
			ctrl |= PDVCommand
		}
		if n == len(data) {
			ctrl |= PDVLast
		}
		if err := c.write(EncodePDataTF(ctxID, ctrl, data[:n])); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// StreamFragments sends size bytes read from r as dataset PDVs of ctxID,
// fragmented to the peer's maximum PDU length, without holding more than
// one fragment in memory.
func (c *Conn) StreamFragments(ctxID byte, r io.Reader, size int64) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	max := c.maxFragment()
	buf := make([]byte, 12+min(int64(max), size))
	for first := true; first || size > 0; first = false {
		n := int(min(int64(max), size))
		if _, err := io.ReadFull(r, buf[12:12+n]); err != nil {
			return err
		}
		ctrl := byte(0)
		if int64(n) == size {
			ctrl = PDVLast
		}
		putHeader(buf, TypePDataTF, 6+n)
		binary.BigEndian.PutUint32(buf[6:], uint32(2+n))
		buf[10], buf[11] = ctxID, ctrl
		if err := c.write(buf[:12+n]); err != nil {
			return err
		}
		size -= int64(n)
	}
	return nil
}

// Close closes the transport.
func (c *Conn) Close() error { return c.nc.Close() }

// AwaitClose waits up to artim for the peer to close the transport (after
// A-RELEASE-RP, A-ASSOCIATE-RJ or A-ABORT: the ARTIM timer of PS3.8 9.1.5),
// then closes it.
func (c *Conn) AwaitClose(artim time.Duration) {
	c.dr.mu.Lock()
	c.dr.timeout = 0
	c.dr.idle = true // an Interrupt cuts the wait short
	if c.dr.interrupted {
		artim = 0
	}
	c.nc.SetReadDeadline(time.Now().Add(artim)) //nolint:errcheck
	c.dr.mu.Unlock()
	io.Copy(io.Discard, io.LimitReader(c.nc, 1<<20)) //nolint:errcheck
	c.nc.Close()
}
