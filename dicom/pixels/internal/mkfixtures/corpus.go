package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/frame"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// corpusSources are the synthetic images mkcorpus.sh compresses with every
// codec that takes their bit depth: 8, 12 and 16 bits, unsigned and
// signed, MONOCHROME2 and MONOCHROME1. Odd sizes (157x119) exercise the
// edge handling of block-based codecs; the content (see corpusValue) spans
// the whole range of values.
func corpusSources() []fixture {
	src := func(name string, alloc, stored int, signed bool, photometric string) fixture {
		lo, hi := 0, 1<<stored-1
		if signed {
			lo, hi = -(1 << (stored - 1)), 1<<(stored-1)-1
		}
		return fixture{name: name, ts: uid.ExplicitVRLittleEndian, bitsAlloc: alloc, bitsStored: stored,
			highBit: stored - 1, signed: signed, photometric: photometric, cols: 157, rows: 119,
			value: func(x, y int) int { return corpusValue(x, y, 157, 119, lo, hi) }}
	}
	return []fixture{
		src("u8.dcm", 8, 8, false, "MONOCHROME2"),
		src("u12.dcm", 16, 12, false, "MONOCHROME2"),
		src("s12.dcm", 16, 12, true, "MONOCHROME2"),
		src("u16.dcm", 16, 16, false, "MONOCHROME2"),
		src("s16.dcm", 16, 16, true, "MONOCHROME2"),
		src("m1u12.dcm", 16, 12, false, "MONOCHROME1"),
	}
}

// corpusValue is a diagonal gradient from lo to hi with deterministic
// noise of about 1/32 of the range, a hard-edged square, and the extremes
// lo and hi at two corners; clamped to lo..hi.
func corpusValue(x, y, w, h, lo, hi int) int {
	switch {
	case x == 0 && y == 0:
		return lo
	case x == w-1 && y == h-1:
		return hi
	}
	span := hi - lo
	v := lo + span*(x+y)/(w+h-2)
	// xorshift-style hash of the position: reproducible noise.
	n := uint32(x*7919 + y*104729 + 17)
	n ^= n << 13
	n ^= n >> 17
	n ^= n << 5
	v += int(n%uint32(span/16+1)) - span/32
	if x > w/3 && x < w/2 && y > h/3 && y < h/2 {
		v = lo + span/5
	}
	return min(max(v, lo), hi)
}

func writeCorpus(dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	for i, f := range corpusSources() {
		if err := write(filepath.Join(dir, f.name), f, 200+i); err != nil {
			log.Fatalf("%s: %v", f.name, err)
		}
		fmt.Println("wrote", f.name)
	}
}

// wrap writes src's dataset with the codestream as its single encapsulated
// frame, labelled with transfer syntax ts (for codecs DCMTK and GDCM do not
// write, such as HTJ2K).
func wrap(src, codestream, ts, out string) error {
	ds, err := parseFile(src, dicom.SkipPixelData())
	if err != nil {
		return err
	}
	cs, err := os.ReadFile(codestream)
	if err != nil {
		return err
	}
	var elems []*dicom.Element
	for _, e := range ds.Elements {
		switch e.Tag {
		case tag.PixelData, tag.FileMetaInformationGroupLength:
			continue
		case tag.TransferSyntaxUID:
			// The writer refuses UIDs it does not know (HTJ2K): write
			// as JPEG 2000 and relabel the meta header below.
			e = el(tag.TransferSyntaxUID, []string{placeholderTS})
		}
		elems = append(elems, e)
	}
	pe := el(tag.PixelData, dicom.PixelDataInfo{IsEncapsulated: true, Frames: []*frame.Frame{encFrame(pad(cs))}})
	pe.RawValueRepresentation = "OB"
	pe.ValueLength = tag.VLUndefinedLength
	elems = append(elems, pe)
	sortElements(elems)
	var buf bytes.Buffer
	if err := dicom.Write(&buf, dicom.Dataset{Elements: elems}, dicom.SkipVRVerification()); err != nil {
		return err
	}
	b, err := relabel(buf.Bytes(), ts)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}

const placeholderTS = "1.2.840.10008.1.2.4.90"

// relabel replaces the placeholder transfer syntax in a Part 10 meta
// header (explicit VR little endian, (0002,0010) UI) by ts and corrects
// the meta group length (0002,0000). The dataset after it is unchanged
// (both syntaxes encode it as explicit VR little endian).
func relabel(b []byte, ts string) ([]byte, error) {
	if ts == placeholderTS {
		return b, nil
	}
	enc := func(u string) []byte {
		if len(u)%2 == 1 {
			u += "\x00"
		}
		h := []byte{0x02, 0x00, 0x10, 0x00, 'U', 'I', 0, 0}
		binary.LittleEndian.PutUint16(h[6:], uint16(len(u)))
		return append(h, u...)
	}
	old, repl := enc(placeholderTS), enc(ts)
	i := bytes.Index(b, old)
	// 128-byte preamble, "DICM", then (0002,0000) UL 4 bytes of length.
	if i < 0 || len(b) < 144 || !bytes.Equal(b[132:138], []byte{0x02, 0, 0, 0, 'U', 'L'}) {
		return nil, fmt.Errorf("relabel: no placeholder transfer syntax in the meta header")
	}
	glen := binary.LittleEndian.Uint32(b[140:])
	binary.LittleEndian.PutUint32(b[140:], glen+uint32(len(repl)-len(old)))
	return append(append(append([]byte(nil), b[:i]...), repl...), b[i+len(old):]...), nil
}

// rawPixels writes the stored values of a native little-endian file as raw
// samples: one byte each at 8 bits allocated, else 16-bit little-endian,
// masked to Bits Stored and sign-extended when Pixel Representation is 1
// (what OpenJPH's raw input reads).
func rawPixels(src, out string) error {
	ds, err := parseFile(src, dicom.SkipProcessingPixelDataValue())
	if err != nil {
		return err
	}
	num := func(t tag.Tag) int {
		e, err := ds.FindElementByTag(t)
		if err != nil {
			log.Fatalf("%s: no %v", src, t)
		}
		return e.Value.GetValue().([]int)[0]
	}
	alloc, stored, high, signed := num(tag.BitsAllocated), num(tag.BitsStored), num(tag.HighBit), num(tag.PixelRepresentation) == 1
	pe, err := ds.FindElementByTag(tag.PixelData)
	if err != nil {
		return err
	}
	raw := pe.Value.GetValue().(dicom.PixelDataInfo).UnprocessedValueData
	n := num(tag.Rows) * num(tag.Columns)
	mask, shift := 1<<stored-1, high+1-stored
	var w []byte
	for i := 0; i < n; i++ {
		v := int(raw[i])
		if alloc == 16 {
			v = int(binary.LittleEndian.Uint16(raw[2*i:]))
		}
		v = v >> shift & mask
		if signed && v >= 1<<(stored-1) {
			v -= 1 << stored
		}
		if alloc == 8 {
			w = append(w, byte(v))
		} else {
			w = binary.LittleEndian.AppendUint16(w, uint16(int16(v)))
		}
	}
	return os.WriteFile(out, w, 0o644)
}

// parseFile parses the Part 10 file at path.
func parseFile(path string, opt dicom.ParseOption) (dicom.Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return dicom.Dataset{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return dicom.Dataset{}, err
	}
	ds, err := dicom.Parse(f, st.Size(), nil, opt)
	if err != nil {
		return dicom.Dataset{}, fmt.Errorf("%s: %w", path, err)
	}
	return ds, nil
}
