package hl7

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// MLLP block characters: a frame is SB, the message, EB, CR.
const (
	StartBlock = 0x0B
	EndBlock   = 0x1C
	CarriageR  = 0x0D
)

// ErrFraming is a byte stream that is not MLLP: the connection cannot be
// resynchronised safely and should be closed.
var ErrFraming = errors.New("hl7: MLLP framing error")

// TooLargeError is a frame over the size limit. Its content was read and
// discarded (never kept beyond the limit) up to the end block, so the
// stream is still in sync, unless Err says why the end was not reached (a
// read deadline): then the connection must be closed after the NAK. Prefix
// holds the first bytes (enough for MSH) to address the NAK.
type TooLargeError struct {
	Limit  int
	Prefix []byte
	Err    error
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("hl7: MLLP frame larger than %d bytes", e.Limit)
}

// ReadFrame reads one MLLP frame and returns the message inside it (without
// SB, EB and CR). Whitespace between frames is skipped. io.EOF means the peer
// closed cleanly between frames; io.ErrUnexpectedEOF that it closed inside
// one; ErrFraming that the bytes are not MLLP; *TooLargeError that a frame
// exceeded max bytes (it was skipped to its end, however long: the caller's
// read deadline bounds how long that may take).
func ReadFrame(r *bufio.Reader, max int) ([]byte, error) {
	for {
		c, err := r.ReadByte()
		if err != nil {
			return nil, err // io.EOF between frames is a clean close
		}
		if c == StartBlock {
			break
		}
		if c == '\r' || c == '\n' || c == ' ' || c == '\t' || c == 0 {
			continue
		}
		return nil, fmt.Errorf("%w: byte 0x%02x outside a frame", ErrFraming, c)
	}
	var buf []byte
	tooLarge := false
	tooLargeErr := func(err error) error {
		return &TooLargeError{Limit: max, Prefix: buf[:min(len(buf), 4096)], Err: err}
	}
	for {
		chunk, err := r.ReadSlice(EndBlock)
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			if !tooLarge && len(buf)+len(chunk) > max {
				// Cut off inside a frame already over the limit.
				tooLarge = true
				buf = append(buf, chunk[:max-len(buf)]...)
			}
			if tooLarge {
				return nil, tooLargeErr(err)
			}
			return nil, err
		}
		full := errors.Is(err, bufio.ErrBufferFull)
		body := chunk
		if !full {
			body = chunk[:len(chunk)-1] // without EB
		}
		for _, c := range body {
			if c == StartBlock {
				return nil, fmt.Errorf("%w: start block inside a frame", ErrFraming)
			}
		}
		if !tooLarge {
			if len(buf)+len(body) > max {
				tooLarge = true
				n := min(len(body), max-len(buf))
				buf = append(buf, body[:n]...)
			} else {
				buf = append(buf, body...)
			}
		}
		if full {
			continue
		}
		// EB must be followed by CR.
		c, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			if tooLarge {
				return nil, tooLargeErr(err)
			}
			return nil, err
		}
		if c != CarriageR {
			return nil, fmt.Errorf("%w: end block not followed by CR", ErrFraming)
		}
		if tooLarge {
			return nil, tooLargeErr(nil)
		}
		return buf, nil
	}
}

// WriteFrame writes msg as one MLLP frame.
func WriteFrame(w io.Writer, msg []byte) error {
	b := make([]byte, 0, len(msg)+3)
	b = append(b, StartBlock)
	b = append(b, msg...)
	b = append(b, EndBlock, CarriageR)
	_, err := w.Write(b)
	return err
}
