// Package pixels turns a stored DICOM Part 10 file into an 8-bit grayscale
// display image: the input of the drafting model (whose training images were
// 8-bit JPEGs) and of the viewer's previews. It owns pixel decoding and the
// grey-level pipeline; it knows nothing of studies or drafts.
//
// # Pipeline (DICOM PS3.3 C.7.6.3, C.11)
//
//  1. Stored values: native pixel data of 8 or 16 bits allocated, masked to
//     Bits Stored below High Bit, sign-extended when Pixel Representation is 1;
//     JPEG baseline (1.2.840.10008.1.2.4.50) is decoded with Go's image/jpeg
//     and its luma used as 8-bit stored values. Only the first frame is used.
//     RGB native data (Secondary Capture) becomes luma (Rec. 601 weights).
//  2. Modality LUT: Rescale Slope/Intercept (default 1/0). A Modality LUT
//     Sequence is not applied (rare in CR/DX; the rescale is used instead).
//  3. VOI: the first item of the VOI LUT Sequence (0028,3010) when present;
//     else the first Window Center/Width with VOI LUT Function LINEAR (PS3.3
//     C.11.2.1.2.1), LINEAR_EXACT or SIGMOID; else a robust min-max: the
//     0.5th and 99.5th percentiles of the stored values (nearest rank:
//     sorted ranks floor(0.005*(N-1)) and ceil(0.995*(N-1)) of the N pixels,
//     Pixel Padding Value excluded), mapped through the rescale and
//     stretched linearly to 0..255 (clamped outside), so a few hot or dead
//     pixels and collimator edges do not flatten the contrast. Output values
//     are y*255 rounded half up.
//  4. Polarity: the image is inverted when Photometric Interpretation is
//     MONOCHROME1 or Presentation LUT Shape is INVERSE (DX requires INVERSE
//     together with MONOCHROME1: both mean one inversion), so bone is bright.
//
// Steps 2-4 are folded into one lookup table indexed by the stored value
// (at most 65536 entries), so the per-pixel work is a mask and a table read;
// the library's own frame decoding (one io.ReadFull and an interface
// conversion per pixel) is bypassed by parsing with
// SkipProcessingPixelDataValue and unpacking the raw bytes here. The testdata
// CR (2140x1760, 16-bit) decodes, file to image, in 15-40 ms on a shared,
// loaded 2-core AMD EPYC (BenchmarkDecodeCR; about 11 ms of CPU, the rest
// is waiting for a core); a 1024-pixel preview with a custom window takes
// 12-20 ms after that (BenchmarkRenderPreviewCR).
//
// Every encapsulated transfer syntax other than JPEG baseline (JPEG lossless,
// JPEG-LS, JPEG 2000, RLE, ...) is stored by the SCP but returns a
// *NotDecodableError naming it; so do layouts this package does not handle
// (32 bits allocated, palette colour, YBR native data).
//
// Resizing for previews (Render's MaxSize) is a hand-written area average:
// the module has no image-scaling dependency and downscaling 8-bit gray by an
// integer-ratio box is a few lines.
package pixels

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// JPEGBaseline is the one encapsulated transfer syntax decoded here.
const JPEGBaseline = "1.2.840.10008.1.2.4.50"

// Decodable reports whether pixel data in transfer syntax ts can become a
// display image here (native syntaxes and JPEG baseline). It says nothing
// of the layout inside (bits, photometric), which Open checks.
func Decodable(ts string) bool {
	switch ts {
	case uid.ImplicitVRLittleEndian, uid.ExplicitVRLittleEndian, uid.DeflatedExplicitVRLittleEndian,
		uid.ExplicitVRBigEndian, JPEGBaseline:
		return true
	}
	return false
}

// ErrNotDecodable matches (errors.Is) every *NotDecodableError.
var ErrNotDecodable = errors.New("not decodable for drafting")

// NotDecodableError says that a stored file's pixels cannot become a display
// image here. The file itself is valid and kept.
type NotDecodableError struct {
	TransferSyntaxUID  string
	TransferSyntaxName string
	// Detail, when set, names what is unsupported in a decodable transfer
	// syntax (e.g. "32 bits allocated").
	Detail string
}

func (e *NotDecodableError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("not decodable for drafting: %s in %s (%s)", e.Detail, e.TransferSyntaxName, e.TransferSyntaxUID)
	}
	return fmt.Sprintf("not decodable for drafting: %s (%s)", e.TransferSyntaxName, e.TransferSyntaxUID)
}

// Is makes errors.Is(err, ErrNotDecodable) true.
func (e *NotDecodableError) Is(target error) bool { return target == ErrNotDecodable }

func notDecodable(ts, detail string) *NotDecodableError {
	return &NotDecodableError{TransferSyntaxUID: ts, TransferSyntaxName: tsName(ts), Detail: detail}
}

func tsName(ts string) string {
	if info, err := uid.Lookup(ts); err == nil && info.Name != "" {
		return info.Name
	}
	if ts == "" {
		return "no transfer syntax"
	}
	return "unknown transfer syntax"
}

// VOIKind says where the default VOI transformation came from.
type VOIKind string

const (
	VOILUTSequence VOIKind = "voi_lut_sequence"
	VOIWindow      VOIKind = "window"
	VOIPercentile  VOIKind = "percentile"
)

// Source is a decoded frame: its stored values plus the header values the
// grey-level pipeline needs. Display and Render make images from it; it is
// immutable after Open and safe for concurrent use.
type Source struct {
	Rows, Cols        int
	TransferSyntaxUID string
	Photometric       string
	// Invert is the default polarity flip (MONOCHROME1 or INVERSE).
	Invert bool
	// RescaleSlope and RescaleIntercept map stored values to modality values.
	RescaleSlope, RescaleIntercept float64
	// VOI is the default VOI transformation's origin; WindowCenter/Width
	// are its linear equivalent in modality units (for the viewer's initial
	// window/level), exact for a window, approximate for the others.
	VOI                       VOIKind
	WindowCenter, WindowWidth float64

	// keys are stored values re-based so that key order is value order:
	// unsigned values as they are, signed ones with the sign bit flipped.
	keys       []uint16
	bitsStored int
	signed     bool
	// nkeys is 1<<bitsStored.
	nkeys      int
	winFunc    string
	voiLUT     *voiLUT
	pctLo      float64 // modality values at the 0.5th/99.5th percentiles
	pctHi      float64
	defaultLUT []uint8
}

// Decode reads the Part 10 file at path and returns its default 8-bit
// display image.
func Decode(path string) (*image.Gray, error) {
	s, err := Open(path)
	if err != nil {
		return nil, err
	}
	return s.Display(), nil
}

// Open reads and decodes the Part 10 file at path.
func Open(path string) (*Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return Read(f, st.Size())
}

// Read decodes a Part 10 stream of size bytes.
func Read(r io.Reader, size int64) (s *Source, err error) {
	// A malformed file must come back as an error, not take the process
	// (the draft worker, the HTTP server) down with a parser panic.
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("pixels: malformed file: %v", p)
		}
	}()
	ds, err := dicom.Parse(r, size, nil, dicom.SkipProcessingPixelDataValue())
	if err != nil {
		return nil, fmt.Errorf("pixels: parse: %w", err)
	}
	return FromDataset(&ds)
}

// FromDataset decodes a dataset parsed with dicom.SkipProcessingPixelDataValue
// (native pixel data must be unprocessed bytes; encapsulated data is read
// either way).
func FromDataset(ds *dicom.Dataset) (*Source, error) {
	h := header{ds}
	s := &Source{
		TransferSyntaxUID: h.str(tag.TransferSyntaxUID),
		Photometric:       strings.ToUpper(h.str(tag.PhotometricInterpretation)),
		RescaleSlope:      h.float(tag.RescaleSlope, 1),
		RescaleIntercept:  h.float(tag.RescaleIntercept, 0),
	}
	if s.RescaleSlope == 0 {
		s.RescaleSlope = 1
	}
	s.Rows = h.int(tag.Rows, 0)
	s.Cols = h.int(tag.Columns, 0)
	if s.Rows <= 0 || s.Cols <= 0 {
		return nil, fmt.Errorf("pixels: no image size (rows %d, columns %d)", s.Rows, s.Cols)
	}
	if s.Rows*s.Cols > 1<<28 {
		return nil, fmt.Errorf("pixels: image of %dx%d is too large", s.Cols, s.Rows)
	}
	pe, err := ds.FindElementByTag(tag.PixelData)
	if err != nil {
		return nil, fmt.Errorf("pixels: no pixel data")
	}
	pd, ok := pe.Value.GetValue().(dicom.PixelDataInfo)
	if !ok {
		return nil, fmt.Errorf("pixels: pixel data has an unexpected value type")
	}
	ts := s.TransferSyntaxUID
	if ts == "" {
		ts = uid.ImplicitVRLittleEndian
	}
	switch {
	case pd.IsEncapsulated:
		if ts != JPEGBaseline {
			return nil, notDecodable(ts, "")
		}
		if err := s.decodeJPEG(&pd, h); err != nil {
			return nil, err
		}
	case pd.IntentionallyUnprocessed:
		switch ts {
		case uid.ImplicitVRLittleEndian, uid.ExplicitVRLittleEndian, uid.DeflatedExplicitVRLittleEndian, uid.ExplicitVRBigEndian:
		default:
			// Native data under a compressed syntax's name: refuse, do not guess.
			return nil, notDecodable(ts, "native pixel data")
		}
		if err := s.decodeNative(pd.UnprocessedValueData, h, ts); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("pixels: pixel data not read raw (parse with dicom.SkipProcessingPixelDataValue)")
	}
	if pls := strings.ToUpper(h.str(tag.PresentationLUTShape)); s.Photometric == "MONOCHROME1" || pls == "INVERSE" {
		s.Invert = true
	}
	s.chooseVOI(h)
	s.defaultLUT = s.buildLUT(s.defaultVOI(), s.Invert)
	return s, nil
}

// Display returns the default display image (see the package doc).
func (s *Source) Display() *image.Gray {
	return s.apply(s.defaultLUT)
}

func (s *Source) apply(lut []uint8) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, s.Cols, s.Rows))
	out := img.Pix
	keys := s.keys
	_ = out[len(keys)-1]
	for i, k := range keys {
		out[i] = lut[k]
	}
	return img
}

// decodeNative unpacks raw pixel bytes into keys.
func (s *Source) decodeNative(raw []byte, h header, ts string) error {
	bitsAlloc := h.int(tag.BitsAllocated, 0)
	bitsStored := h.int(tag.BitsStored, bitsAlloc)
	highBit := h.int(tag.HighBit, bitsStored-1)
	spp := h.int(tag.SamplesPerPixel, 1)
	signed := h.int(tag.PixelRepresentation, 0) == 1
	planar := h.int(tag.PlanarConfiguration, 0)
	if bitsAlloc != 8 && bitsAlloc != 16 {
		return notDecodable(ts, fmt.Sprintf("%d bits allocated", bitsAlloc))
	}
	if bitsStored < 1 || bitsStored > bitsAlloc || highBit < bitsStored-1 || highBit >= bitsAlloc {
		return fmt.Errorf("pixels: inconsistent bits (allocated %d, stored %d, high bit %d)", bitsAlloc, bitsStored, highBit)
	}
	n := s.Rows * s.Cols
	switch {
	case spp == 1 && (s.Photometric == "MONOCHROME1" || s.Photometric == "MONOCHROME2" || s.Photometric == ""):
	case spp == 3 && s.Photometric == "RGB" && bitsAlloc == 8:
		if len(raw) < 3*n {
			return fmt.Errorf("pixels: pixel data has %d bytes, %dx%d RGB needs %d", len(raw), s.Cols, s.Rows, 3*n)
		}
		s.keys = rgbLuma(raw, n, planar == 1)
		s.bitsStored, s.nkeys, s.Photometric = 8, 256, "MONOCHROME2"
		return nil
	default:
		return notDecodable(ts, fmt.Sprintf("photometric %q with %d samples of %d bits", s.Photometric, spp, bitsAlloc))
	}
	need := n * bitsAlloc / 8
	if len(raw) < need {
		return fmt.Errorf("pixels: pixel data has %d bytes, %dx%d at %d bits needs %d", len(raw), s.Cols, s.Rows, bitsAlloc, need)
	}
	s.bitsStored, s.signed, s.nkeys = bitsStored, signed, 1<<bitsStored
	shift := uint(highBit + 1 - bitsStored)
	mask := uint16(1<<bitsStored - 1)
	var flip uint16
	if signed {
		flip = 1 << (bitsStored - 1)
	}
	keys := make([]uint16, n)
	if bitsAlloc == 8 {
		raw = raw[:n]
		for i, b := range raw {
			keys[i] = (uint16(b)>>shift)&mask ^ flip
		}
	} else {
		raw = raw[:2*n]
		if ts == uid.ExplicitVRBigEndian {
			for i := range keys {
				keys[i] = (binary.BigEndian.Uint16(raw[2*i:])>>shift)&mask ^ flip
			}
		} else if shift == 0 && mask == 0xffff && flip == 0 {
			for i := range keys {
				keys[i] = binary.LittleEndian.Uint16(raw[2*i:])
			}
		} else {
			for i := range keys {
				keys[i] = (binary.LittleEndian.Uint16(raw[2*i:])>>shift)&mask ^ flip
			}
		}
	}
	s.keys = keys
	return nil
}

func rgbLuma(raw []byte, n int, planar bool) []uint16 {
	keys := make([]uint16, n)
	for i := range keys {
		var r, g, b int
		if planar {
			r, g, b = int(raw[i]), int(raw[n+i]), int(raw[2*n+i])
		} else {
			r, g, b = int(raw[3*i]), int(raw[3*i+1]), int(raw[3*i+2])
		}
		keys[i] = uint16((299*r + 587*g + 114*b + 500) / 1000)
	}
	return keys
}

// decodeJPEG decodes the first frame of JPEG baseline pixel data.
func (s *Source) decodeJPEG(pd *dicom.PixelDataInfo, h header) error {
	if len(pd.Frames) == 0 {
		return fmt.Errorf("pixels: JPEG pixel data has no fragments")
	}
	// The parser gives one "frame" per fragment. A single-frame image may
	// span several fragments: join them. For multi-frame data, take the
	// first fragment (one fragment per frame is what senders do for 4.50).
	var data []byte
	if h.int(tag.NumberOfFrames, 1) > 1 {
		data = pd.Frames[0].EncapsulatedData.Data
	} else {
		for _, f := range pd.Frames {
			data = append(data, f.EncapsulatedData.Data...)
		}
	}
	// Check the JPEG's own size first: a lying header must not make the
	// decoder allocate gigabytes.
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("pixels: JPEG baseline: %w", err)
	}
	if cfg.Width != s.Cols || cfg.Height != s.Rows {
		return fmt.Errorf("pixels: JPEG is %dx%d, header says %dx%d", cfg.Width, cfg.Height, s.Cols, s.Rows)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("pixels: JPEG baseline: %w", err)
	}
	b := img.Bounds()
	if b.Dx() != s.Cols || b.Dy() != s.Rows {
		return fmt.Errorf("pixels: JPEG is %dx%d, header says %dx%d", b.Dx(), b.Dy(), s.Cols, s.Rows)
	}
	keys := make([]uint16, s.Rows*s.Cols)
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < s.Rows; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+s.Cols]
			for x, v := range row {
				keys[y*s.Cols+x] = uint16(v)
			}
		}
	case *image.YCbCr:
		for y := 0; y < s.Rows; y++ {
			row := m.Y[y*m.YStride : y*m.YStride+s.Cols]
			for x, v := range row {
				keys[y*s.Cols+x] = uint16(v)
			}
		}
	default:
		return fmt.Errorf("pixels: JPEG baseline decoded to unsupported %T", img)
	}
	s.keys, s.bitsStored, s.nkeys = keys, 8, 256
	// Colour JPEGs (YBR_*) are shown by their luma: a grayscale picture.
	if s.Photometric != "MONOCHROME1" {
		s.Photometric = "MONOCHROME2"
	}
	// A JPEG's samples are already the 8-bit data; the header's pixel
	// representation describes them as unsigned.
	return nil
}

// header reads first values from a dataset, tolerating absent elements.
type header struct{ ds *dicom.Dataset }

func (h header) elem(t tag.Tag) *dicom.Element {
	e, err := h.ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return nil
	}
	return e
}

func (h header) str(t tag.Tag) string {
	e := h.elem(t)
	if e == nil {
		return ""
	}
	if v, ok := e.Value.GetValue().([]string); ok && len(v) > 0 {
		return strings.TrimSpace(strings.Trim(v[0], "\x00"))
	}
	return ""
}

func (h header) int(t tag.Tag, def int) int {
	return elemInt(h.elem(t), def)
}

func elemInt(e *dicom.Element, def int) int {
	if e == nil {
		return def
	}
	switch v := e.Value.GetValue().(type) {
	case []int:
		if len(v) > 0 {
			return v[0]
		}
	case []string: // IS
		if len(v) > 0 {
			if n, err := strconv.Atoi(strings.TrimSpace(v[0])); err == nil {
				return n
			}
		}
	}
	return def
}

func (h header) float(t tag.Tag, def float64) float64 {
	return elemFloat(h.elem(t), def)
}

func elemFloat(e *dicom.Element, def float64) float64 {
	if e == nil {
		return def
	}
	switch v := e.Value.GetValue().(type) {
	case []string: // DS
		if len(v) > 0 {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v[0]), 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				return f
			}
		}
	case []float64:
		if len(v) > 0 {
			return v[0]
		}
	case []int:
		if len(v) > 0 {
			return float64(v[0])
		}
	}
	return def
}
