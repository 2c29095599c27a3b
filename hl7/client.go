package hl7

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Ack is an acknowledgement received by the Client.
type Ack struct {
	Code      AckCode // MSA-1
	ControlID string  // MSA-2: must be the sent message's MSH-10
	Text      string  // MSA-3
	Raw       []byte
}

// NakError is an acknowledgement other than AA/CA. Retrying an AR/CR is
// pointless; an AE/CE may succeed later.
type NakError struct{ Ack Ack }

func (e *NakError) Error() string {
	return fmt.Sprintf("hl7: receiver answered %s", e.Ack.Code)
}

// Permanent reports whether the receiver rejected the message itself (AR/CR).
func (e *NakError) Permanent() bool { return e.Ack.Code == AR || e.Ack.Code == CR }

// Client sends messages to an MLLP receiver (a RIS) one at a time over one
// kept-open connection, reconnecting after any error. It is safe for
// concurrent use (sends are serialised). Send returns nil only for an AA/CA
// whose MSA-2 names the message sent: an outbox may then mark it delivered.
type Client struct {
	Addr string
	// Timeout bounds connecting and waiting for each ACK (default 30s).
	Timeout time.Duration
	// MaxAck bounds the ACK's size (default 1 MiB).
	MaxAck int
	Dialer net.Dialer

	mu   sync.Mutex
	conn net.Conn
	r    *bufio.Reader
}

// Send delivers msg (an HL7 message without MLLP framing; its MSH-10 must be
// set) and waits for its acknowledgement.
func (c *Client) Send(ctx context.Context, msg []byte) (Ack, error) {
	parsed, err := Parse(msg)
	if err != nil {
		return Ack{}, fmt.Errorf("hl7: message to send: %w", err)
	}
	want := parsed.ControlID()
	if want == "" {
		return Ack{}, errors.New("hl7: message to send has no MSH-10")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	maxAck := c.MaxAck
	if maxAck <= 0 {
		maxAck = 1 << 20
	}
	if c.conn == nil {
		dctx, cancel := context.WithTimeout(ctx, timeout)
		conn, err := c.Dialer.DialContext(dctx, "tcp", c.Addr)
		cancel()
		if err != nil {
			return Ack{}, fmt.Errorf("hl7: connect: %w", err)
		}
		c.conn, c.r = conn, bufio.NewReader(conn)
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.conn.SetDeadline(deadline)                                              //nolint:errcheck
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Now()) }) //nolint:errcheck
	defer stop()
	fail := func(err error) (Ack, error) {
		c.conn.Close()
		c.conn, c.r = nil, nil
		if ctx.Err() != nil {
			return Ack{}, ctx.Err()
		}
		return Ack{}, err
	}
	if err := WriteFrame(c.conn, msg); err != nil {
		return fail(fmt.Errorf("hl7: send: %w", err))
	}
	for {
		raw, err := ReadFrame(c.r, maxAck)
		if err != nil {
			return fail(fmt.Errorf("hl7: waiting for ACK: %w", err))
		}
		a, err := parseAck(raw)
		if err != nil {
			return fail(err)
		}
		if a.ControlID != want {
			// An ACK of an earlier message whose wait timed out: skip it.
			continue
		}
		if a.Code != AA && a.Code != CA {
			return a, &NakError{Ack: a}
		}
		return a, nil
	}
}

func parseAck(raw []byte) (Ack, error) {
	m, err := Parse(raw)
	if err != nil {
		return Ack{}, fmt.Errorf("hl7: ACK: %w", err)
	}
	msa := m.Segment("MSA")
	if msa == nil {
		return Ack{}, errors.New("hl7: ACK has no MSA segment")
	}
	return Ack{Code: AckCode(msa.Get(1, 1)), ControlID: msa.Get(2, 1), Text: msa.Get(3, 1), Raw: raw}, nil
}

// Close closes the kept connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn, c.r = nil, nil
	return err
}
