// Command mkfixtures writes the small synthetic DICOM files under
// dicom/pixels/testdata that the pixels tests decode. Each file is a 64x32
// horizontal ramp (values depend on the column; mono2_u16_percentile.dcm adds
// two outlier pixels) written with suyashkumar/dicom's writer, so the tests can compute
// the expected display value of every pixel from the formulas.
//
// Regenerate with:
//
//	go run ./dicom/pixels/internal/mkfixtures dicom/pixels/testdata
//
// Two more modes serve the codec corpus (dicom/pixels/testdata/mkcorpus.sh,
// not committed: the tests build it in a temporary directory):
//
//	mkfixtures -corpus DIR          synthetic sources to compress (corpus.go)
//	mkfixtures -wrap SRC CODESTREAM TS OUT
//	                                SRC's dataset with CODESTREAM as its one
//	                                encapsulated frame, in transfer syntax TS
//	mkfixtures -raw SRC OUT         SRC's native little-endian pixels as raw
//	                                samples (8 bits, or 16 bits sign-extended)
//	                                for codecs that read raw input
//
// Output is deterministic (fixed UIDs, fixed JPEG quality), so a rerun leaves
// the committed files unchanged.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/frame"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

const (
	Cols       = 64
	Rows       = 32
	crSOPClass = "1.2.840.10008.5.1.4.1.1.1"
)

// Fixture describes one generated file (the tests import nothing from here;
// they restate the values they check).
type fixture struct {
	name string
	ts   string
	// value gives the stored value of pixel (x, y) (before masking/encoding).
	bitsAlloc, bitsStored, highBit int
	signed                         bool
	photometric                    string
	value                          func(x, y int) int
	// garbage is OR-ed into the bits above High Bit (overlay junk a decoder
	// must mask off).
	garbage int
	extra   []*dicom.Element
	// encapsulated, when set, replaces native pixel data by these fragments.
	encapsulated [][]byte
	// cols, rows: the image size (0: Cols x Rows).
	cols, rows int
}

func (f fixture) size() (cols, rows int) {
	if f.cols == 0 {
		return Cols, Rows
	}
	return f.cols, f.rows
}

func main() {
	switch {
	case len(os.Args) == 3 && os.Args[1] == "-corpus":
		writeCorpus(os.Args[2])
		return
	case len(os.Args) == 6 && os.Args[1] == "-wrap":
		if err := wrap(os.Args[2], os.Args[3], os.Args[4], os.Args[5]); err != nil {
			log.Fatal(err)
		}
		return
	case len(os.Args) == 4 && os.Args[1] == "-raw":
		if err := rawPixels(os.Args[2], os.Args[3]); err != nil {
			log.Fatal(err)
		}
		return
	case len(os.Args) != 2:
		log.Fatal("usage: mkfixtures OUTDIR | -corpus DIR | -wrap SRC CODESTREAM TS OUT | -raw SRC OUT")
	}
	out := os.Args[1]
	for i, f := range fixtures() {
		if err := write(filepath.Join(out, f.name), f, i+1); err != nil {
			log.Fatalf("%s: %v", f.name, err)
		}
		fmt.Println("wrote", f.name)
	}
}

func fixtures() []fixture {
	ramp8 := func(x, _ int) int { return x * 4 }          // 0..252
	ramp12 := func(x, _ int) int { return x * 64 }        // 0..4032
	rampS := func(x, _ int) int { return (x - 32) * 100 } // -3200..3100
	win := func(c, w string) []*dicom.Element {
		return []*dicom.Element{el(tag.WindowCenter, []string{c}), el(tag.WindowWidth, []string{w})}
	}
	return []fixture{
		{name: "mono2_u8.dcm", ts: uid.ExplicitVRLittleEndian, bitsAlloc: 8, bitsStored: 8, highBit: 7,
			photometric: "MONOCHROME2", value: ramp8},
		{name: "mono2_u16_window.dcm", ts: uid.ImplicitVRLittleEndian, bitsAlloc: 16, bitsStored: 12, highBit: 11,
			photometric: "MONOCHROME2", value: ramp12, garbage: 0xf000, extra: win("2048", "2048")},
		{name: "mono1_u16_window.dcm", ts: uid.ImplicitVRLittleEndian, bitsAlloc: 16, bitsStored: 12, highBit: 11,
			photometric: "MONOCHROME1", value: ramp12, extra: win("2048", "2048")},
		{name: "mono2_u16_inverse.dcm", ts: uid.ExplicitVRLittleEndian, bitsAlloc: 16, bitsStored: 12, highBit: 11,
			photometric: "MONOCHROME2", value: ramp12,
			extra: append(win("2048", "2048"), el(tag.PresentationLUTShape, []string{"INVERSE"}))},
		{name: "mono2_s16_rescale.dcm", ts: uid.ExplicitVRLittleEndian, bitsAlloc: 16, bitsStored: 16, highBit: 15,
			signed: true, photometric: "MONOCHROME2", value: rampS,
			extra: append(win("-500", "4000"), el(tag.RescaleSlope, []string{"2"}), el(tag.RescaleIntercept, []string{"-1000"}))},
		{name: "mono2_s12_bigendian.dcm", ts: uid.ExplicitVRBigEndian, bitsAlloc: 16, bitsStored: 12, highBit: 11,
			signed: true, photometric: "MONOCHROME2", value: func(x, _ int) int { return (x - 32) * 60 }},
		{name: "mono2_u16_voilut.dcm", ts: uid.ImplicitVRLittleEndian, bitsAlloc: 16, bitsStored: 12, highBit: 11,
			photometric: "MONOCHROME2", value: ramp12,
			// A window that would give other values: the LUT must win.
			extra: append(win("100", "10"), voiLUTSeq())},
		{name: "mono2_u16_voilut16.dcm", ts: uid.ExplicitVRLittleEndian, bitsAlloc: 16, bitsStored: 12, highBit: 11,
			photometric: "MONOCHROME2", value: ramp12, extra: []*dicom.Element{voiLUT16Seq()}},
		{name: "mono2_u16_percentile.dcm", ts: uid.ExplicitVRLittleEndian, bitsAlloc: 16, bitsStored: 16, highBit: 15,
			photometric: "MONOCHROME2", value: func(x, y int) int {
				// One dark and one bright outlier pixel (0.05 % each of
				// 2048): the robust min-max must ignore them.
				switch {
				case x == 0 && y == 0:
					return 0
				case x == Cols-1 && y == Rows-1:
					return 60000
				}
				return 1000 + x*10
			}},
		{name: "jpeg_baseline.dcm", ts: "1.2.840.10008.1.2.4.50", bitsAlloc: 8, bitsStored: 8, highBit: 7,
			photometric: "MONOCHROME2", encapsulated: jpegRamp()},
		{name: "jpeg2000.dcm", ts: "1.2.840.10008.1.2.4.90", bitsAlloc: 16, bitsStored: 12, highBit: 11,
			photometric: "MONOCHROME2", encapsulated: [][]byte{{0xff, 0x4f, 0xff, 0x51, 0, 0}}},
		// A syntax no codec here decodes (MPEG2 video).
		{name: "mpeg2.dcm", ts: "1.2.840.10008.1.2.4.100", bitsAlloc: 8, bitsStored: 8, highBit: 7,
			photometric: "MONOCHROME2", encapsulated: [][]byte{{0, 0, 1, 0xb3}}},
	}
}

// voiLUTSeq is a 4096-entry, 8-bit VOI LUT starting at 0: a staircase of
// 16 steps (entry i = (i/256)*17), easy to recognise.
func voiLUTSeq() *dicom.Element {
	data := make([]int, 4096)
	for i := range data {
		data[i] = (i / 256) * 17
	}
	return el(tag.VOILUTSequence, [][]*dicom.Element{{
		el(tag.LUTDescriptor, []int{4096, 0, 8}),
		el(tag.LUTData, data),
	}})
}

// voiLUT16Seq is a 2048-entry, 16-bit VOI LUT whose first mapped value is
// 1024 (values below map to entry 0, above to the last): a square-law curve,
// entry i = round(65535 * (i/2047)^2).
func voiLUT16Seq() *dicom.Element {
	data := make([]int, 2048)
	for i := range data {
		f := float64(i) / 2047
		data[i] = int(math.Round(65535 * f * f))
	}
	return el(tag.VOILUTSequence, [][]*dicom.Element{{
		el(tag.LUTDescriptor, []int{2048, 1024, 16}),
		el(tag.LUTData, data),
	}})
}

func jpegRamp() [][]byte {
	img := image.NewGray(image.Rect(0, 0, Cols, Rows))
	for y := 0; y < Rows; y++ {
		for x := 0; x < Cols; x++ {
			img.SetGray(x, y, color.Gray{Y: uint8(x * 4)})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		log.Fatal(err)
	}
	b := buf.Bytes()
	// Two fragments, to exercise joining them; pad each to even length.
	half := len(b) / 2
	return [][]byte{pad(b[:half]), pad(b[half:])}
}

func pad(b []byte) []byte {
	c := append([]byte(nil), b...)
	if len(c)%2 == 1 {
		c = append(c, 0)
	}
	return c
}

func el(t tag.Tag, v any) *dicom.Element {
	e, err := dicom.NewElement(t, v)
	if err != nil {
		log.Fatalf("element %v: %v", t, err)
	}
	return e
}

func write(path string, f fixture, n int) error {
	sop := fmt.Sprintf("1.2.826.0.1.3680043.10.1190.9.%d", n)
	pixelRep := 0
	if f.signed {
		pixelRep = 1
	}
	cols, rows := f.size()
	elems := []*dicom.Element{
		el(tag.MediaStorageSOPClassUID, []string{crSOPClass}),
		el(tag.MediaStorageSOPInstanceUID, []string{sop}),
		el(tag.TransferSyntaxUID, []string{f.ts}),
		el(tag.SOPClassUID, []string{crSOPClass}),
		el(tag.SOPInstanceUID, []string{sop}),
		el(tag.Modality, []string{"CR"}),
		el(tag.StudyInstanceUID, []string{"1.2.826.0.1.3680043.10.1190.9.100"}),
		el(tag.SeriesInstanceUID, []string{"1.2.826.0.1.3680043.10.1190.9.101"}),
		el(tag.SamplesPerPixel, []int{1}),
		el(tag.PhotometricInterpretation, []string{f.photometric}),
		el(tag.Rows, []int{rows}),
		el(tag.Columns, []int{cols}),
		el(tag.BitsAllocated, []int{f.bitsAlloc}),
		el(tag.BitsStored, []int{f.bitsStored}),
		el(tag.HighBit, []int{f.highBit}),
		el(tag.PixelRepresentation, []int{pixelRep}),
	}
	elems = append(elems, f.extra...)
	if f.encapsulated != nil {
		info := dicom.PixelDataInfo{IsEncapsulated: true}
		for _, frag := range f.encapsulated {
			info.Frames = append(info.Frames, encFrame(frag))
		}
		pe := el(tag.PixelData, info)
		pe.RawValueRepresentation = "OB"
		pe.ValueLength = tag.VLUndefinedLength
		elems = append(elems, pe)
	} else {
		var bo binary.AppendByteOrder = binary.LittleEndian
		if f.ts == uid.ExplicitVRBigEndian {
			bo = binary.BigEndian
		}
		raw := native(f, bo)
		pe := el(tag.PixelData, dicom.PixelDataInfo{IntentionallyUnprocessed: true, UnprocessedValueData: raw})
		if f.bitsAlloc == 8 {
			pe.RawValueRepresentation = "OB"
		}
		elems = append(elems, pe)
	}
	sortElements(elems)
	var buf bytes.Buffer
	if err := dicom.Write(&buf, dicom.Dataset{Elements: elems}, dicom.SkipVRVerification()); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func native(f fixture, bo binary.AppendByteOrder) []byte {
	mask := 1<<f.bitsStored - 1
	shift := f.highBit + 1 - f.bitsStored
	var raw []byte
	cols, rows := f.size()
	for y := 0; y < rows; y++ {
		for x := 0; x < cols; x++ {
			v := (f.value(x, y)&mask)<<shift | f.garbage
			if f.bitsAlloc == 8 {
				raw = append(raw, byte(v))
			} else {
				raw = bo.AppendUint16(raw, uint16(v))
			}
		}
	}
	if len(raw)%2 == 1 {
		raw = append(raw, 0)
	}
	return raw
}

func encFrame(b []byte) *frame.Frame {
	return &frame.Frame{Encapsulated: true, EncapsulatedData: frame.EncapsulatedFrame{Data: b}}
}

// sortElements puts elements in ascending tag order, as Part 10 requires.
func sortElements(elems []*dicom.Element) {
	sort.SliceStable(elems, func(i, j int) bool {
		a, b := elems[i].Tag, elems[j].Tag
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		return a.Element < b.Element
	})
}
