// Package dataset reads the attributes radraft needs from a DICOM dataset
// (a Part 10 file, or a bare dataset in a known transfer syntax), without
// trusting anything the dataset declares: every element length is checked
// against what is left before it is read, values that are not asked for
// are skipped (seeked over, or discarded as they stream) and never held,
// nested sequences are bounded, and a dataset that ends inside an element
// is an error. It is the one DICOM header reader of radraft: the listener
// uses it on every received instance, the view decision on stored files.
//
// Text values are decoded to UTF-8 by the dataset's Specific Character Set
// (golang.org/x/text), with the default repertoire and a Latin-1 fallback
// for bytes the declared set cannot explain; NUL and other control
// characters are removed. The raw bytes stay in the file.
package dataset

import (
	"bufio"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Tag is a (group, element) pair.
type Tag struct{ Group, Element uint16 }

func (t Tag) String() string { return fmt.Sprintf("(%04X,%04X)", t.Group, t.Element) }

// Want says what to keep: top-level elements, and for sequences, the
// elements of their items.
type Want struct {
	Tags      []Tag
	Sequences map[Tag][]Tag
}

// Dataset holds the kept values (raw bytes) and decodes them.
type Dataset struct {
	TransferSyntax string
	values         map[Tag][]byte
	items          map[Tag][]*Dataset
	bigEndian      bool
	charset        []string
}

// ErrTruncated is returned (wrapped) when the dataset ends inside an element.
var ErrTruncated = errors.New("dataset ends inside an element")

// Limits.
const (
	maxDepth = 8        // nested sequences
	maxValue = 64 << 10 // longest value kept (longer ones are cut)
)

const (
	tsImplicitLE = "1.2.840.10008.1.2"
	tsExplicitBE = "1.2.840.10008.1.2.2"
	tsDeflated   = "1.2.840.10008.1.2.1.99"
)

var (
	tagItem         = Tag{0xFFFE, 0xE000}
	tagItemDelim    = Tag{0xFFFE, 0xE00D}
	tagSeqDelim     = Tag{0xFFFE, 0xE0DD}
	tagCharset      = Tag{0x0008, 0x0005}
	tagTransferSyn  = Tag{0x0002, 0x0010}
	undefinedLength = uint32(0xFFFFFFFF)
)

// ReadFile reads a Part 10 file.
func ReadFile(path string, want Want) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return ReadPart10(f, st.Size(), want)
}

// ReadPart10 reads a Part 10 file of size bytes from r: preamble, "DICM",
// group 0002 (Explicit VR Little Endian), then the dataset in the transfer
// syntax the meta names.
func ReadPart10(r io.ReadSeeker, size int64, want Want) (*Dataset, error) {
	src := newSource(r, size)
	var pre [132]byte
	if err := src.read(pre[:]); err != nil {
		return nil, fmt.Errorf("dataset: no Part 10 preamble: %w", err)
	}
	if string(pre[128:]) != "DICM" {
		return nil, errors.New("dataset: not a Part 10 file (no DICM prefix)")
	}
	meta := &walker{src: src, want: Want{Tags: []Tag{tagTransferSyn}}, explicit: true}
	m, err := meta.walk(func(t Tag) bool { return t.Group != 0x0002 })
	if err != nil {
		return nil, fmt.Errorf("dataset: file meta: %w", err)
	}
	ts := m.String(tagTransferSyn)
	if ts == "" {
		return nil, errors.New("dataset: file meta names no transfer syntax")
	}
	return read(src, ts, want)
}

// Read reads a bare dataset of size bytes (−1: unknown) in transfer syntax ts.
func Read(r io.Reader, size int64, ts string, want Want) (*Dataset, error) {
	return read(newSource(r, size), ts, want)
}

func read(src *source, ts string, want Want) (*Dataset, error) {
	if ts == tsDeflated {
		// The rest is a raw deflate stream: no seeking, no known size.
		fr := flate.NewReader(bufio.NewReader(&sourceReader{src}))
		defer fr.Close()
		src = newSource(fr, -1)
	}
	w := &walker{src: src, want: want, explicit: ts != tsImplicitLE, bigEndian: ts == tsExplicitBE}
	d, err := w.walk(nil)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	d.TransferSyntax = ts
	return d, nil
}

// source is the input with its remaining size (−1 when unknown), seeking
// over skipped values when it can.
type source struct {
	r    io.Reader
	seek io.Seeker
	left int64
	br   *bufio.Reader
}

func newSource(r io.Reader, size int64) *source {
	s := &source{r: r, left: size}
	if sk, ok := r.(io.Seeker); ok {
		s.seek = sk
	} else {
		s.br = bufio.NewReaderSize(r, 32<<10)
		s.r = s.br
	}
	return s
}

// fits reports whether n more bytes can still be there.
func (s *source) fits(n int64) bool { return s.left < 0 || n <= s.left }

func (s *source) read(p []byte) error {
	if !s.fits(int64(len(p))) {
		return ErrTruncated
	}
	if _, err := io.ReadFull(s.r, p); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return ErrTruncated
		}
		return err
	}
	if s.left >= 0 {
		s.left -= int64(len(p))
	}
	return nil
}

func (s *source) skip(n int64) error {
	if !s.fits(n) {
		return ErrTruncated
	}
	if s.seek != nil && s.left >= 0 {
		if _, err := s.seek.Seek(n, io.SeekCurrent); err != nil {
			return err
		}
		s.left -= n
		return nil
	}
	got, err := io.CopyN(io.Discard, s.r, n)
	if s.left >= 0 {
		s.left -= got
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return ErrTruncated
		}
		return err
	}
	return nil
}

// peek returns the next len(p) bytes without consuming them.
func (s *source) peek(p []byte) ([]byte, error) {
	if !s.fits(int64(len(p))) {
		return nil, ErrTruncated
	}
	if s.br != nil {
		b, err := s.br.Peek(len(p))
		if err != nil {
			return nil, ErrTruncated
		}
		return b, nil
	}
	if _, err := io.ReadFull(s.r, p); err != nil {
		return nil, ErrTruncated
	}
	if _, err := s.seek.Seek(-int64(len(p)), io.SeekCurrent); err != nil {
		return nil, err
	}
	return p, nil
}

// atEnd reports whether the input is exhausted.
func (s *source) atEnd() bool {
	if s.left >= 0 {
		return s.left == 0
	}
	if s.br != nil {
		_, err := s.br.Peek(1)
		return err != nil
	}
	return false
}

type sourceReader struct{ s *source }

func (r *sourceReader) Read(p []byte) (int, error) {
	if r.s.left >= 0 && int64(len(p)) > r.s.left {
		p = p[:r.s.left]
	}
	if len(p) == 0 {
		return 0, io.EOF
	}
	n, err := r.s.r.Read(p)
	if r.s.left >= 0 {
		r.s.left -= int64(n)
	}
	return n, err
}

// String is the first value of t, decoded and trimmed.
func (d *Dataset) String(t Tag) string {
	if v := d.Strings(t); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Strings are the values of a multi-valued text element t, decoded.
func (d *Dataset) Strings(t Tag) []string {
	raw, ok := d.values[t]
	if !ok {
		return nil
	}
	s := decodeText(raw, d.charset, t)
	parts := strings.Split(s, `\`)
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Uint16 is the first value of a US element t (0 when absent or short).
func (d *Dataset) Uint16(t Tag) int {
	v := d.values[t]
	if len(v) < 2 {
		return 0
	}
	if d.bigEndian {
		return int(binary.BigEndian.Uint16(v))
	}
	return int(binary.LittleEndian.Uint16(v))
}

// Items are the items of sequence t that were kept.
func (d *Dataset) Items(t Tag) []*Dataset { return d.items[t] }

// Has reports whether element t was present (and asked for).
func (d *Dataset) Has(t Tag) bool { _, ok := d.values[t]; return ok }
