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

// deadlineReader applies the read deadline of the current phase (ARTIM,
// idle, whole PDU) to every read: deadlines are absolute, so a peer that
// trickles bytes cannot stretch them. Reads while idle (between messages)
// fail at once with ErrInterrupted after an Interrupt.
type deadlineReader struct {
	c           net.Conn
	mu          sync.Mutex
	idle        bool
	interrupted bool
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if d.wasInterrupted() {
		return 0, ErrInterrupted
	}
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

// setDeadline sets the absolute read deadline; idle says the association
// is between messages (and so may be interrupted).
func (c *Conn) setDeadline(t time.Time, idle bool) {
	c.dr.mu.Lock()
	defer c.dr.mu.Unlock()
	c.dr.idle = idle
	if c.dr.interrupted && idle {
		t = time.Unix(1, 0)
	}
	c.nc.SetReadDeadline(t) //nolint:errcheck
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

// NextPDV returns the next PDV, reading P-DATA-TF PDUs as needed: the
// requestor's simple reader (the acceptor reads through its Association).
// A release or abort from the peer comes back as ErrReleaseRQ/RP or
// ErrPeerAborted; any other PDU, a PDU over MaxPDU or a malformed PDV is a
// *ProtocolError. Unread data of the previous PDV is discarded.
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
		ev, pe := pduEvent(h, c.MaxPDU)
		switch {
		case pe != nil:
			return PDV{}, pe
		case ev == Evt12 || ev == Evt13:
			if _, err := c.br.Discard(4); err != nil {
				return PDV{}, err
			}
			if ev == Evt12 {
				return PDV{}, ErrReleaseRQ
			}
			return PDV{}, ErrReleaseRP
		case ev == Evt16:
			return PDV{}, ErrPeerAborted
		case ev != Evt10:
			return PDV{}, protoErr(AbortUnexpectedPDU, "PDU type %#x during association", h.Type)
		}
		c.pduLeft = h.Length
	}
	return c.nextPDVInPDU()
}

// nextPDVInPDU reads the next PDV item header of the P-DATA-TF being read.
func (c *Conn) nextPDVInPDU() (PDV, error) {
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
