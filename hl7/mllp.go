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
// discarded up to the end block, so the stream is still in sync; Prefix holds
// the first bytes (enough for MSH) to address a NAK.
type TooLargeError struct {
	Limit  int
	Prefix []byte
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("hl7: MLLP frame larger than %d bytes", e.Limit)
}

// maxDiscard bounds how much of an oversized frame is skipped looking for its
// end before the connection is given up on.
const maxDiscard = 64 << 20

// ReadFrame reads one MLLP frame and returns the message inside it (without
// SB, EB and CR). Whitespace between frames is skipped. io.EOF means the peer
// closed cleanly between frames; io.ErrUnexpectedEOF that it closed inside
// one; ErrFraming that the bytes are not MLLP; *TooLargeError that a frame
// exceeded max bytes (it was skipped).
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
	discarded := 0
	for {
		chunk, err := r.ReadSlice(EndBlock)
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
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
				discarded = len(buf)
			} else {
				buf = append(buf, body...)
			}
		} else {
			discarded += len(body)
			if discarded > maxDiscard {
				return nil, fmt.Errorf("%w: frame without end", ErrFraming)
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
			return nil, err
		}
		if c != CarriageR {
			return nil, fmt.Errorf("%w: end block not followed by CR", ErrFraming)
		}
		if tooLarge {
			p := buf
			if len(p) > 4096 {
				p = p[:4096]
			}
			return nil, &TooLargeError{Limit: max, Prefix: p}
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
