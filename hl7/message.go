// Package hl7 is radraft's HL7 v2 transport: MLLP framing and a listener
// (Server), a v2 parser and encoder with escape handling, extraction of
// radiology orders (ORM^O01 with IHE's ZDS, OMI^O23 with IPC) into
// drafts.Order, ACK/NAK building, and the sending side for results (BuildORU
// and an MLLP Client).
//
// Why our own parser: no HL7 v2 library for Go is served by the module proxy
// this project builds from (the known ones, e.g. github.com/lenaten/hl7 and
// github.com/kardianos/hl7, are not available there), and what radraft needs
// is small and well specified: delimiters from MSH-1/MSH-2, segments ending
// in CR, LF or CRLF, fields, repetitions, components and sub-components,
// escapes (\F\ \S\ \T\ \R\ \E\ \Xhh..\ \.br\ and the formatting ones) undone
// after splitting, and MSH-18 character sets. The parser never panics on any
// input (see FuzzParse) and keeps no state between messages.
//
// Acknowledgements (OrderHandler): AA only after the message and its orders
// are committed (drafts.Store.SaveOrderMessage); AE only when a resend can
// succeed (the database failing: "send it again"); AR, with the reason in
// MSA-3 and ERR, when it cannot: another HL7 version, an empty MSH-10, no
// accession and no Study UID, an unsupported ORC-1, a message that does not
// parse, a frame over the size limit, or a bug (a recovered panic). Other
// message types on the same feed (ADT, ORU…) get AA without being stored or
// processed (RADRAFT_HL7_UNSOLICITED=reject answers them AR); an ACK is not
// answered. (HL7 v2's own text leans the other way, AE for content errors
// and AR for system errors; radraft follows the rule that a sender may
// retry exactly what a retry can fix.) MSA-2 echoes MSH-10; the ACK's MSH
// swaps sender and receiver and keeps the message's delimiters, version and
// processing ID. A message with
// MSH-15 or MSH-16 valued is in enhanced mode: it gets an accept
// acknowledgement CA/CE/CR, sent as MSH-15 asks (AL or empty: always; NE:
// never; ER: errors only; SU: success only). No separate application
// acknowledgement is sent: radraft is the end of the line for an order, and
// CA is only sent once the order is committed.
//
// Framing: bytes outside a frame (other than whitespace), a start block
// inside a frame or an end block not followed by CR close the connection
// without an ACK (the stream cannot be trusted any more); a frame over the
// size limit is skipped to its end (never kept beyond the limit) and
// answered with AR; a connection closed mid-frame stores nothing. Deadlines
// (Server): a connection may wait IdleTimeout for a message, and a message
// has MessageTimeout from its first byte to its end, however slowly it
// trickles; at the connection cap the connection idle longest makes room. A message re-sent after a lost ACK (same sender,
// MSH-10 and bytes) is acknowledged again but not applied twice.
package hl7

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Delimiters are the separators a message declares in MSH-1 and MSH-2.
type Delimiters struct {
	Field, Component, Repetition, Escape, SubComponent byte
}

// DefaultDelimiters are |^~\&.
var DefaultDelimiters = Delimiters{'|', '^', '~', '\\', '&'}

// Encoding returns MSH-2 for d.
func (d Delimiters) Encoding() string {
	return string([]byte{d.Component, d.Repetition, d.Escape, d.SubComponent})
}

// Field is one field: its repetitions, each a list of components, each a
// list of sub-components. Values are unescaped and UTF-8.
type Field []Repetition

// Repetition is one repetition of a field.
type Repetition []Component

// Component is one component: its sub-components.
type Component []string

// Segment is one segment. Fields[0] is the segment name; for MSH, Fields[1] is
// MSH-1 (the field separator) and Fields[2] MSH-2 (the encoding characters),
// so that Fields[n] is always SEG-n.
type Segment struct {
	Name   string
	Fields []Field
}

// Message is a parsed HL7 v2 message.
type Message struct {
	Delims   Delimiters
	Segments []Segment
	// Charset is MSH-18 as sent ("" when absent).
	Charset string
}

// ParseError says why a message could not be parsed. Its text never
// contains message content.
type ParseError struct{ Reason string }

func (e *ParseError) Error() string { return "hl7: " + e.Reason }

func parseErr(format string, args ...any) error {
	return &ParseError{Reason: fmt.Sprintf(format, args...)}
}

// MaxDelimiters bounds the separators (fields, repetitions, components,
// sub-components) of a message Parse accepts, so that what a message
// allocates stays a small multiple of its size; an order uses a few hundred.
const MaxDelimiters = 20000

func countDelimiters(raw []byte, d Delimiters) int {
	n := 0
	for _, c := range []byte{d.Field, d.Component, d.Repetition, d.SubComponent} {
		if c != 0 {
			n += bytes.Count(raw, []byte{c})
		}
	}
	return n
}

// readDelimiters reads MSH-1 and MSH-2 of raw (which starts with "MSH"):
// the delimiters, which must be distinct printable non-alphanumeric
// characters, and MSH-2's encoding characters as sent.
func readDelimiters(raw []byte) (Delimiters, []byte, error) {
	d := Delimiters{Field: raw[3]}
	enc := raw[4:]
	if i := bytes.IndexByte(enc, d.Field); i >= 0 {
		enc = enc[:i]
	} else {
		return Delimiters{}, nil, parseErr("MSH-2 is not terminated")
	}
	if len(enc) < 2 || len(enc) > 5 {
		// Four characters; v2.7 adds a fifth (truncation). Two or three
		// are tolerated (escape and sub-component then absent).
		return Delimiters{}, nil, parseErr("MSH-2 has %d encoding characters", len(enc))
	}
	d.Component, d.Repetition = enc[0], enc[1]
	if len(enc) > 2 {
		d.Escape = enc[2]
	}
	if len(enc) > 3 {
		d.SubComponent = enc[3]
	}
	for _, c := range enc {
		if c <= ' ' || c > '~' {
			return Delimiters{}, nil, parseErr("MSH-2 holds a non-printable character")
		}
	}
	seen := map[byte]bool{}
	for _, c := range []byte{d.Field, d.Component, d.Repetition, d.Escape, d.SubComponent} {
		if c == 0 {
			continue
		}
		if seen[c] || c <= ' ' || c > '~' || isAlnum(c) {
			return Delimiters{}, nil, parseErr("MSH-1/MSH-2 delimiters are not distinct printable characters")
		}
		seen[c] = true
	}
	return d, enc, nil
}

// Parse parses one message. Segment terminators may be CR, LF or CRLF; empty
// lines are skipped. The message must start with MSH and declare distinct
// delimiters.
func Parse(raw []byte) (*Message, error) {
	// Drop a BOM and leading whitespace some senders put before MSH.
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	raw = bytes.TrimLeft(raw, "\r\n\t ")
	if len(raw) < 8 || string(raw[:3]) != "MSH" {
		return nil, parseErr("message does not start with MSH")
	}
	d, enc, err := readDelimiters(raw)
	if err != nil {
		return nil, err
	}
	if bytes.IndexByte(raw, 0) >= 0 {
		return nil, parseErr("message holds a NUL byte")
	}
	if n := countDelimiters(raw, d); n > MaxDelimiters {
		// Each delimiter costs the parsed message ~200 bytes: a 1 MiB
		// message of "|||…" would otherwise take ~190 MiB.
		return nil, parseErr("message has %d field, component and repetition separators; at most %d are accepted", n, MaxDelimiters)
	}
	m := &Message{Delims: d}
	lines := splitSegments(raw)
	// MSH-18 (character set) decides how bytes become text; read it raw
	// first. Only the first repetition counts.
	if msh := splitBytes(lines[0], d.Field); len(msh) > 18 {
		cs := msh[18]
		if i := bytes.IndexByte(cs, d.Repetition); i >= 0 {
			cs = cs[:i]
		}
		m.Charset = strings.TrimSpace(string(cs))
	}
	dec := decoderFor(m.Charset)
	for n, line := range lines {
		parts := splitBytes(line, d.Field)
		name := string(parts[0])
		if len(name) != 3 || !isSegmentName(name) {
			return nil, parseErr("segment %d has an invalid name", n+1)
		}
		seg := Segment{Name: name}
		if n == 0 {
			if name != "MSH" {
				return nil, parseErr("first segment is not MSH")
			}
			seg.Fields = make([]Field, 0, len(parts)+1)
			seg.Fields = append(seg.Fields,
				Field{{{name}}},
				Field{{{string(d.Field)}}},
				Field{{{string(enc)}}})
			for _, p := range parts[2:] {
				seg.Fields = append(seg.Fields, parseField(p, d, dec))
			}
		} else {
			seg.Fields = make([]Field, 0, len(parts))
			seg.Fields = append(seg.Fields, Field{{{name}}})
			for _, p := range parts[1:] {
				seg.Fields = append(seg.Fields, parseField(p, d, dec))
			}
		}
		m.Segments = append(m.Segments, seg)
	}
	return m, nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func isSegmentName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// splitSegments splits on CR, LF or CRLF and drops empty lines.
func splitSegments(raw []byte) [][]byte {
	var out [][]byte
	for len(raw) > 0 {
		i := bytes.IndexAny(raw, "\r\n")
		var line []byte
		if i < 0 {
			line, raw = raw, nil
		} else {
			line = raw[:i]
			raw = raw[i+1:]
		}
		if len(bytes.TrimSpace(line)) > 0 {
			out = append(out, line)
		}
	}
	return out
}

func splitBytes(b []byte, sep byte) [][]byte {
	if sep == 0 {
		return [][]byte{b}
	}
	return bytes.Split(b, []byte{sep})
}

func parseField(b []byte, d Delimiters, dec func([]byte) string) Field {
	reps := splitBytes(b, d.Repetition)
	f := make(Field, 0, len(reps))
	for _, r := range reps {
		comps := splitBytes(r, d.Component)
		rep := make(Repetition, 0, len(comps))
		for _, c := range comps {
			subs := splitBytes(c, d.SubComponent)
			comp := make(Component, 0, len(subs))
			for _, s := range subs {
				comp = append(comp, dec(unescape(s, d)))
			}
			rep = append(rep, comp)
		}
		f = append(f, rep)
	}
	return f
}

// decoderFor turns bytes in the MSH-18 character set into UTF-8. Unknown or
// absent sets: UTF-8 when the bytes are valid UTF-8, else ISO 8859-1 (the
// most common non-declared set), so that nothing is lost or rejected.
func decoderFor(charset string) func([]byte) string {
	var cm *charmap.Charmap
	switch strings.ToUpper(strings.ReplaceAll(charset, "_", " ")) {
	case "8859/1":
		cm = charmap.ISO8859_1
	case "8859/2":
		cm = charmap.ISO8859_2
	case "8859/3":
		cm = charmap.ISO8859_3
	case "8859/4":
		cm = charmap.ISO8859_4
	case "8859/5":
		cm = charmap.ISO8859_5
	case "8859/6":
		cm = charmap.ISO8859_6
	case "8859/7":
		cm = charmap.ISO8859_7
	case "8859/8":
		cm = charmap.ISO8859_8
	case "8859/9":
		cm = charmap.ISO8859_9
	case "8859/15":
		cm = charmap.ISO8859_15
	}
	return func(b []byte) string {
		if cm == nil {
			if utf8.Valid(b) {
				return string(b)
			}
			cmLatin := charmap.ISO8859_1
			s, _ := cmLatin.NewDecoder().Bytes(b)
			return string(s)
		}
		s, err := cm.NewDecoder().Bytes(b)
		if err != nil {
			return strings.ToValidUTF8(string(b), "\uFFFD")
		}
		return string(s)
	}
}

// Segment returns the first segment named name, or nil.
func (m *Message) Segment(name string) *Segment {
	for i := range m.Segments {
		if m.Segments[i].Name == name {
			return &m.Segments[i]
		}
	}
	return nil
}

// Field returns field n (SEG-n), or nil when absent.
func (s *Segment) Field(n int) Field {
	if s == nil || n < 0 || n >= len(s.Fields) {
		return nil
	}
	return s.Fields[n]
}

// Get returns the first sub-component of component comp (1-based) of the
// first repetition of field n: SEG-n.comp. Absent parts are "".
func (s *Segment) Get(n, comp int) string {
	return s.Field(n).Get(0, comp, 1)
}

// Get returns sub-component sub of component comp of repetition rep
// (rep 0-based, comp and sub 1-based); absent parts are "".
func (f Field) Get(rep, comp, sub int) string {
	if rep < 0 || rep >= len(f) {
		return ""
	}
	r := f[rep]
	if comp < 1 || comp > len(r) {
		return ""
	}
	c := r[comp-1]
	if sub < 1 || sub > len(c) {
		return ""
	}
	return c[sub-1]
}

// Component returns component comp (1-based) of repetition rep with its
// sub-components joined by sep; absent parts are "".
func (r Repetition) Component(comp int) string {
	if comp < 1 || comp > len(r) {
		return ""
	}
	return strings.Join(r[comp-1], "&")
}

// Value returns the value at a terser-like path "SEG-n", "SEG-n.c" or
// "SEG-n.c.s" in the first such segment (first repetition).
func (m *Message) Value(path string) string {
	seg, n, c, s, err := parsePath(path)
	if err != nil {
		return ""
	}
	return m.Segment(seg).Field(n).Get(0, c, s)
}

func parsePath(path string) (seg string, n, c, s int, err error) {
	name, rest, ok := strings.Cut(strings.TrimSpace(path), "-")
	if !ok || len(name) != 3 || !isSegmentName(strings.ToUpper(name)) {
		return "", 0, 0, 0, errors.New("hl7: bad field path " + strconv.Quote(path))
	}
	parts := strings.Split(rest, ".")
	nums := []int{0, 1, 1}
	if len(parts) > 3 {
		return "", 0, 0, 0, errors.New("hl7: bad field path " + strconv.Quote(path))
	}
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 1 {
			return "", 0, 0, 0, errors.New("hl7: bad field path " + strconv.Quote(path))
		}
		nums[i] = v
	}
	return strings.ToUpper(name), nums[0], nums[1], nums[2], nil
}

// Header fields every message has.

// Type returns MSH-9 as "ORM^O01" (message code and trigger event).
func (m *Message) Type() string {
	msh := m.Segment("MSH")
	code, trig := msh.Get(9, 1), msh.Get(9, 2)
	if trig == "" {
		return code
	}
	return code + "^" + trig
}

// ControlID returns MSH-10.
func (m *Message) ControlID() string { return m.Segment("MSH").Get(10, 1) }
