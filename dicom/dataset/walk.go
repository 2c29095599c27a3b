package dataset

import (
	"encoding/binary"
	"fmt"
)

// walker reads elements one after the other, keeping what is wanted and
// skipping the rest. pos counts the bytes consumed, to hold every element
// and item inside its container.
type walker struct {
	src       *source
	want      Want
	explicit  bool
	bigEndian bool
	pos       int64
}

func (w *walker) order() binary.ByteOrder {
	if w.bigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func (w *walker) read(p []byte) error {
	if err := w.src.read(p); err != nil {
		return err
	}
	w.pos += int64(len(p))
	return nil
}

func (w *walker) skip(n int64) error {
	if err := w.src.skip(n); err != nil {
		return err
	}
	w.pos += n
	return nil
}

// VRs whose explicit length field is 4 bytes (after 2 reserved bytes).
var longVR = map[string]bool{"OB": true, "OD": true, "OF": true, "OL": true, "OV": true, "OW": true,
	"SQ": true, "UC": true, "UN": true, "UR": true, "UT": true, "SV": true, "UV": true}

var shortVR = map[string]bool{"AE": true, "AS": true, "AT": true, "CS": true, "DA": true, "DS": true, "DT": true,
	"FD": true, "FL": true, "IS": true, "LO": true, "LT": true, "PN": true, "SH": true, "SL": true, "SS": true,
	"ST": true, "TM": true, "UI": true, "UL": true, "US": true}

type header struct {
	tag    Tag
	vr     string // "" in implicit VR
	length uint32
}

func (w *walker) tag() (Tag, error) {
	var b [4]byte
	if err := w.read(b[:]); err != nil {
		return Tag{}, err
	}
	o := w.order()
	return Tag{o.Uint16(b[:]), o.Uint16(b[2:])}, nil
}

// header reads an element header after its tag.
func (w *walker) header(t Tag) (header, error) {
	h := header{tag: t}
	o := w.order()
	if !w.explicit || t.Group == 0xFFFE {
		var b [4]byte
		if err := w.read(b[:]); err != nil {
			return h, err
		}
		h.length = o.Uint32(b[:])
		return h, nil
	}
	var b [4]byte
	if err := w.read(b[:]); err != nil {
		return h, err
	}
	h.vr = string(b[:2])
	switch {
	case longVR[h.vr]:
		if err := w.read(b[:]); err != nil {
			return h, err
		}
		h.length = o.Uint32(b[:])
	case shortVR[h.vr]:
		h.length = uint32(o.Uint16(b[2:]))
	default:
		return h, fmt.Errorf("element %v has an invalid VR %q", t, h.vr)
	}
	return h, nil
}

// walk reads the whole input (or up to the first tag for which stop says
// true, left unread) as a dataset.
func (w *walker) walk(stop func(Tag) bool) (*Dataset, error) {
	keep := map[Tag]bool{tagCharset: true}
	for _, t := range w.want.Tags {
		keep[t] = true
	}
	d := w.newDataset()
	for !w.src.atEnd() {
		if stop != nil {
			t, err := w.peekTag()
			if err != nil {
				return nil, err
			}
			if stop(t) {
				break
			}
		}
		if err := w.element(d, keep, 0, -1); err != nil {
			return nil, err
		}
	}
	d.charset = d.Strings(tagCharset)
	for _, items := range d.items {
		for _, it := range items {
			it.charset = d.charset
		}
	}
	return d, nil
}

func (w *walker) newDataset() *Dataset {
	return &Dataset{values: map[Tag][]byte{}, items: map[Tag][]*Dataset{}, bigEndian: w.bigEndian}
}

// peekTag reads the next tag without consuming it.
func (w *walker) peekTag() (Tag, error) {
	var b [4]byte
	p, err := w.src.peek(b[:])
	if err != nil {
		return Tag{}, err
	}
	o := w.order()
	return Tag{o.Uint16(p), o.Uint16(p[2:])}, nil
}

// element reads one element into d: kept when keep says so, a sequence's
// items parsed when it is a wanted sequence (depth 0 only), else skipped.
// end is where the enclosing item ends (−1: undefined length).
func (w *walker) element(d *Dataset, keep map[Tag]bool, depth int, end int64) error {
	t, err := w.tag()
	if err != nil {
		return err
	}
	if t.Group == 0xFFFE {
		return fmt.Errorf("delimiter %v outside a sequence", t)
	}
	h, err := w.header(t)
	if err != nil {
		return err
	}
	if end >= 0 && h.length != undefinedLength && w.pos+int64(h.length) > end {
		return fmt.Errorf("element %v of %d bytes overruns its item: %w", t, h.length, ErrTruncated)
	}
	itemTags, wantSeq := w.want.Sequences[t]
	switch {
	case h.length == undefinedLength:
		// A sequence (SQ, UN, or implicit VR) or encapsulated pixel data.
		explicit := w.explicit
		if h.vr == "UN" {
			w.explicit = false // PS3.5 6.2.2: its content is Implicit VR LE
		}
		err := w.sequence(d, t, itemTags, wantSeq && depth == 0, depth+1, -1)
		w.explicit = explicit
		return err
	case wantSeq && depth == 0 && (h.vr == "SQ" || h.vr == ""):
		return w.sequence(d, t, itemTags, true, depth+1, w.pos+int64(h.length))
	case keep[t]:
		if !w.src.fits(int64(h.length)) {
			return fmt.Errorf("element %v declares %d bytes: %w", t, h.length, ErrTruncated)
		}
		n := min(int64(h.length), maxValue)
		v := make([]byte, n)
		if err := w.read(v); err != nil {
			return err
		}
		d.values[t] = v
		return w.skip(int64(h.length) - n)
	default:
		if err := w.skip(int64(h.length)); err != nil {
			return fmt.Errorf("element %v of %d bytes: %w", t, h.length, err)
		}
		return nil
	}
}

// sequence reads the items of sequence t up to end (−1: up to its
// delimiter). Items are parsed (and kept in d) when keepItems, else
// skipped; encapsulated pixel data is a sequence of skipped fragments.
func (w *walker) sequence(d *Dataset, t Tag, itemTags []Tag, keepItems bool, depth int, end int64) error {
	if depth > maxDepth {
		return fmt.Errorf("sequences nested deeper than %d", maxDepth)
	}
	keep := map[Tag]bool{}
	for _, it := range itemTags {
		keep[it] = true
	}
	for end < 0 || w.pos < end {
		it, err := w.tag()
		if err != nil {
			return err
		}
		var b [4]byte
		if err := w.read(b[:]); err != nil {
			return err
		}
		n := w.order().Uint32(b[:])
		switch it {
		case tagSeqDelim:
			if end >= 0 {
				return fmt.Errorf("sequence delimiter in the defined-length sequence %v", t)
			}
			return nil
		case tagItem:
		default:
			return fmt.Errorf("%v inside sequence %v, not an item", it, t)
		}
		var item *Dataset
		if keepItems {
			item = w.newDataset()
			d.items[t] = append(d.items[t], item)
		} else {
			item = w.newDataset() // parsed for its structure only, values dropped
			keep = nil
		}
		if n == undefinedLength {
			if err := w.itemElements(item, keep, depth, -1); err != nil {
				return err
			}
			continue
		}
		if end >= 0 && w.pos+int64(n) > end || !w.src.fits(int64(n)) {
			return fmt.Errorf("item of %d bytes in %v: %w", n, t, ErrTruncated)
		}
		if !keepItems {
			if err := w.skip(int64(n)); err != nil {
				return err
			}
			continue
		}
		if err := w.itemElements(item, keep, depth, w.pos+int64(n)); err != nil {
			return err
		}
	}
	if w.pos != end {
		return fmt.Errorf("sequence %v overruns its length: %w", t, ErrTruncated)
	}
	return nil
}

// itemElements reads an item's elements up to end, or (−1) up to its
// item delimiter.
func (w *walker) itemElements(item *Dataset, keep map[Tag]bool, depth int, end int64) error {
	for end < 0 || w.pos < end {
		if end < 0 {
			t, err := w.peekItemDelim()
			if err != nil {
				return err
			}
			if t {
				return nil
			}
		}
		if err := w.element(item, keep, depth, end); err != nil {
			return err
		}
	}
	if w.pos != end {
		return fmt.Errorf("item overruns its length: %w", ErrTruncated)
	}
	return nil
}

// peekItemDelim consumes an item delimiter if one comes next.
func (w *walker) peekItemDelim() (bool, error) {
	var b [8]byte
	p, err := w.src.peek(b[:4])
	if err != nil {
		return false, err
	}
	o := w.order()
	if (Tag{o.Uint16(p), o.Uint16(p[2:])}) != tagItemDelim {
		return false, nil
	}
	if err := w.read(b[:]); err != nil {
		return false, err
	}
	return true, nil
}
