package hl7

import (
	"bytes"
	"strings"
)

// unescape undoes HL7 escape sequences in one sub-component (after the
// message was split on its delimiters):
//
//	\F\ \S\ \T\ \R\ \E\   the delimiters themselves
//	\Xhh..\               bytes in hex (in the message's character set)
//	\.br\                 a line break ("\n")
//	\.sp\ \.sp n\         n line breaks (1 when n is absent)
//	\.in\ \.ti\ \.sk\ \.ce\ \.fi\ \.nf\  formatting, dropped
//	\H\ \N\               highlighting on/off, dropped
//	\Cxxyy\ \Mxxyyzz\ \Zxx\  character-set switches / local, dropped
//
// An unknown or unterminated sequence is kept as it was, so no text is lost.
func unescape(b []byte, d Delimiters) []byte {
	if d.Escape == 0 || bytes.IndexByte(b, d.Escape) < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != d.Escape {
			out = append(out, c)
			continue
		}
		j := bytes.IndexByte(b[i+1:], d.Escape)
		if j < 0 {
			// Unterminated: literal.
			out = append(out, b[i:]...)
			break
		}
		seq := b[i+1 : i+1+j]
		if rep, ok := escapeValue(seq, d); ok {
			out = append(out, rep...)
			i += j + 1
			continue
		}
		// Unknown: keep the escape character literally and go on after it.
		out = append(out, c)
	}
	return out
}

func escapeValue(seq []byte, d Delimiters) ([]byte, bool) {
	if len(seq) == 0 {
		return nil, false
	}
	switch string(seq) {
	case "F":
		return []byte{d.Field}, true
	case "S":
		return []byte{d.Component}, true
	case "T":
		return nonZero(d.SubComponent), true
	case "R":
		return []byte{d.Repetition}, true
	case "E":
		return []byte{d.Escape}, true
	case "H", "N":
		return nil, true
	case ".br":
		return []byte{'\n'}, true
	case ".fi", ".nf":
		return nil, true
	}
	switch seq[0] {
	case 'X', 'x':
		hex := seq[1:]
		if len(hex) == 0 || len(hex)%2 != 0 {
			return nil, false
		}
		out := make([]byte, 0, len(hex)/2)
		for k := 0; k < len(hex); k += 2 {
			hi, ok1 := hexVal(hex[k])
			lo, ok2 := hexVal(hex[k+1])
			if !ok1 || !ok2 {
				return nil, false
			}
			out = append(out, hi<<4|lo)
		}
		return out, true
	case 'C', 'M', 'Z':
		if len(seq) > 1 && len(seq) <= 16 {
			return nil, true
		}
	case '.':
		if len(seq) < 3 {
			return nil, false
		}
		cmd, arg := string(seq[1:3]), strings.TrimSpace(string(seq[3:]))
		switch cmd {
		case "sp":
			n := 1
			if arg != "" {
				n = 0
				for _, r := range arg {
					if r < '0' || r > '9' || n > 100 {
						return nil, false
					}
					n = n*10 + int(r-'0')
				}
				if n > 100 {
					n = 100
				}
			}
			return bytes.Repeat([]byte{'\n'}, n), true
		case "in", "ti", "sk":
			return []byte{' '}, true
		case "ce":
			return []byte{'\n'}, true
		}
	}
	return nil, false
}

func nonZero(c byte) []byte {
	if c == 0 {
		return nil
	}
	return []byte{c}
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Escape encodes s for use inside one sub-component of a message with
// delimiters d: delimiters and the escape character become \F\ \S\ \T\ \R\
// \E\, line breaks become \.br\ and other control characters \Xhh\.
func Escape(s string, d Delimiters) string {
	var b strings.Builder
	b.Grow(len(s))
	esc := string(d.Escape)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == d.Escape:
			b.WriteString(esc + "E" + esc)
		case c == d.Field:
			b.WriteString(esc + "F" + esc)
		case c == d.Component:
			b.WriteString(esc + "S" + esc)
		case c == d.SubComponent && c != 0:
			b.WriteString(esc + "T" + esc)
		case c == d.Repetition:
			b.WriteString(esc + "R" + esc)
		case c == '\r' && i+1 < len(s) && s[i+1] == '\n':
			// CRLF is one line break.
			b.WriteString(esc + ".br" + esc)
			i++
		case c == '\n' || c == '\r':
			b.WriteString(esc + ".br" + esc)
		case c < 0x20 || c == 0x7f:
			const hexdigits = "0123456789ABCDEF"
			b.WriteString(esc + "X")
			b.WriteByte(hexdigits[c>>4])
			b.WriteByte(hexdigits[c&15])
			b.WriteString(esc)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Unescape undoes escape sequences in one sub-component's raw text.
func Unescape(s string, d Delimiters) string { return string(unescape([]byte(s), d)) }
