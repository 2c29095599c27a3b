package hl7

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
)

// AckCode is MSA-1.
type AckCode string

// Original mode (MSA-1) and enhanced mode accept acknowledgement codes.
const (
	AA AckCode = "AA" // accepted: the message is stored
	AE AckCode = "AE" // understood but not processable
	AR AckCode = "AR" // rejected: unsupported type or malformed
	CA AckCode = "CA" // enhanced: commit accept (stored)
	CE AckCode = "CE" // enhanced: commit error
	CR AckCode = "CR" // enhanced: commit reject
)

// Positive reports whether the code acknowledges the message as stored.
func (c AckCode) Positive() bool { return c == AA || c == CA }

// Error codes for ERR-3 (HL7 table 0357).
const (
	ErrSegmentSequence    = "100"
	ErrRequiredFieldMiss  = "101"
	ErrDataType           = "102"
	ErrUnsupportedMsgType = "200"
	ErrUnsupportedEvent   = "201"
	ErrUnsupportedProcID  = "202"
	ErrUnsupportedVersion = "203"
	ErrUnknownKey         = "204"
	ErrApplicationError   = "207"
)

// AckMode says how a message asks to be acknowledged.
type AckMode struct {
	// Enhanced is true when MSH-15 or MSH-16 is valued.
	Enhanced bool
	// Accept is MSH-15 (AL, NE, ER, SU); "" means AL in enhanced mode.
	Accept string
}

// ModeOf reads the acknowledgement mode from MSH-15/MSH-16.
func ModeOf(m *Message) AckMode {
	msh := m.Segment("MSH")
	accept := strings.ToUpper(strings.TrimSpace(msh.Get(15, 1)))
	app := strings.TrimSpace(msh.Get(16, 1))
	return AckMode{Enhanced: accept != "" || app != "", Accept: accept}
}

// Code maps an original-mode outcome to the code to send in this mode.
func (m AckMode) Code(c AckCode) AckCode {
	if !m.Enhanced {
		return c
	}
	switch c {
	case AA:
		return CA
	case AE:
		return CE
	case AR:
		return CR
	}
	return c
}

// ShouldSend says whether an acknowledgement with code c is to be sent at
// all: enhanced mode's NE (never), ER (errors only) and SU (success only).
func (m AckMode) ShouldSend(c AckCode) bool {
	if !m.Enhanced {
		return true
	}
	switch m.Accept {
	case "NE":
		return false
	case "ER":
		return !c.Positive()
	case "SU":
		return c.Positive()
	}
	return true
}

// AckOptions addresses an acknowledgement.
type AckOptions struct {
	Code AckCode
	// Text is MSA-3 and ERR text: it must not contain PHI.
	Text string
	// ErrCode (table 0357) goes in ERR-3 with a non-positive code.
	ErrCode string
	// ErrLocation is the segment and field at fault, e.g. "OBR^1^18".
	ErrLocation string
	// Now is the time stamp (time.Now when zero).
	Now time.Time
}

// BuildAck builds the acknowledgement of msg: MSH with sender and receiver
// swapped and the original's delimiters, version and processing ID; MSA-1
// the code, MSA-2 = MSH-10 of msg; ERR on errors. msg may be nil for a
// message that could not be parsed at all: the ACK then uses default
// delimiters and an empty MSA-2 (or the control ID salvaged from raw).
func BuildAck(msg *Message, raw []byte, o AckOptions) []byte {
	d := DefaultDelimiters
	var sendApp, sendFac, recvApp, recvFac, ctrl, proc, version, trigger string
	if msg != nil {
		d = msg.Delims
		if d.Escape == 0 || d.SubComponent == 0 {
			// A message declaring fewer than four encoding characters
			// is answered with the standard ones (values are re-encoded).
			d = DefaultDelimiters
		}
		msh := msg.Segment("MSH")
		sendApp, sendFac = rawField(msh, 3, d), rawField(msh, 4, d)
		recvApp, recvFac = rawField(msh, 5, d), rawField(msh, 6, d)
		ctrl = Escape(msh.Get(10, 1), d)
		proc = rawField(msh, 11, d)
		version = rawField(msh, 12, d)
		trigger = Escape(msh.Get(9, 2), d)
	} else {
		ctrl = Escape(salvageControlID(raw), DefaultDelimiters)
	}
	if proc == "" {
		proc = "P"
	}
	if version == "" {
		version = "2.5.1"
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	f := string(d.Field)
	c := string(d.Component)
	var b bytes.Buffer
	typ := "ACK"
	if trigger != "" {
		typ += c + trigger + c + "ACK"
	}
	// Our MSH: sender = their receiver, receiver = their sender.
	b.WriteString("MSH" + f + d.Encoding() + f + recvApp + f + recvFac + f + sendApp + f + sendFac + f +
		now.Format("20060102150405.000-0700") + f + f + typ + f + newControlID() + f + proc + f + version + "\r")
	b.WriteString("MSA" + f + string(o.Code) + f + ctrl)
	if o.Text != "" && !o.Code.Positive() {
		b.WriteString(f + Escape(o.Text, d))
	}
	b.WriteString("\r")
	if !o.Code.Positive() {
		code := o.ErrCode
		if code == "" {
			code = ErrApplicationError
		}
		loc := o.ErrLocation
		// ERR-1 (v2.3 location) left empty, ERR-2 location, ERR-3 code
		// ^ text ^ HL70357, ERR-4 severity E.
		b.WriteString("ERR" + f + f + loc + f + code + c + Escape(errCodeText(code), d) + c + "HL70357" + f + "E")
		if o.Text != "" {
			b.WriteString(f + f + f + f + Escape(o.Text, d))
		}
		b.WriteString("\r")
	}
	return b.Bytes()
}

func errCodeText(code string) string {
	switch code {
	case ErrSegmentSequence:
		return "Segment sequence error"
	case ErrRequiredFieldMiss:
		return "Required field missing"
	case ErrDataType:
		return "Data type error"
	case ErrUnsupportedMsgType:
		return "Unsupported message type"
	case ErrUnsupportedEvent:
		return "Unsupported event code"
	case ErrUnsupportedProcID:
		return "Unsupported processing id"
	case ErrUnsupportedVersion:
		return "Unsupported version id"
	case ErrUnknownKey:
		return "Unknown key identifier"
	}
	return "Application internal error"
}

// rawField re-encodes field n of an MSH (all repetitions and components) for
// copying into the ACK.
func rawField(s *Segment, n int, d Delimiters) string {
	return EncodeField(s.Field(n), d)
}

// EncodeField encodes a parsed field with delimiters d.
func EncodeField(f Field, d Delimiters) string {
	var b strings.Builder
	for ri, r := range f {
		if ri > 0 {
			b.WriteByte(d.Repetition)
		}
		for ci, c := range r {
			if ci > 0 {
				b.WriteByte(d.Component)
			}
			for si, s := range c {
				if si > 0 {
					b.WriteByte(d.SubComponent)
				}
				b.WriteString(Escape(s, d))
			}
		}
	}
	return b.String()
}

// salvageControlID tries to read MSH-10 of an unparseable message, so that a
// NAK can still name it.
func salvageControlID(raw []byte) string {
	raw = bytes.TrimLeft(raw, "\r\n\t ")
	if len(raw) < 4 || string(raw[:3]) != "MSH" {
		return ""
	}
	line := raw
	if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	parts := bytes.Split(line, raw[3:4])
	if len(parts) <= 9 {
		return ""
	}
	v := parts[9]
	// Only the first component, and only printable ASCII.
	for i, c := range v {
		if c < 0x20 || c > 0x7e || c == '^' || c == '~' || c == '&' || c == '\\' {
			v = v[:i]
			break
		}
	}
	if len(v) > 64 {
		v = v[:64]
	}
	return string(v)
}

func newControlID() string {
	// 20 characters: the v2.3 limit of MSH-10.
	var b [9]byte
	_, _ = rand.Read(b[:])
	return "RD" + strings.ToUpper(hex.EncodeToString(b[:]))
}
