package pixels

import (
	"fmt"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	rdicom "github.com/radraft/radraft/dicom"
)

// Encapsulated transfer syntaxes decoded here (PS3.5 A.4, PS3.6 Annex A);
// the UIDs are package dicom's.
const (
	JPEGBaseline       = rdicom.JPEGBaseline    // process 1, 8-bit lossy
	JPEGExtended       = rdicom.JPEGExtended    // processes 2 & 4, 12-bit lossy
	JPEGLosslessP14    = rdicom.JPEGLosslessP14 // process 14, any predictor
	JPEGLosslessSV1    = rdicom.JPEGLossless    // process 14, predictor 1
	JPEGLSLossless     = rdicom.JPEGLSLossless
	JPEGLSNearLossless = rdicom.JPEGLSNearLossless
	JPEG2000Lossless   = rdicom.JPEG2000Lossless
	JPEG2000           = rdicom.JPEG2000
	HTJ2KLossless      = rdicom.HTJ2KLossless
	HTJ2KLosslessRPCL  = rdicom.HTJ2KLosslessRPCL
	HTJ2K              = rdicom.HTJ2K
	RLELossless        = rdicom.RLELossless
)

// frameInfo is what a codec knows of the frame it decodes: the header's
// size and layout.
type frameInfo struct {
	rows, cols  int
	l           layout
	photometric string
}

// decodedFrame is a codec's output: a native little-endian buffer whose
// stored values sit in the low bits (high bit = bits stored - 1), and the
// photometric interpretation of those samples (a colour JPEG comes out RGB).
type decodedFrame struct {
	raw         []byte
	l           layout
	photometric string
}

// codec decodes one frame's compressed bytes.
type codec func(data []byte, f frameInfo) (decodedFrame, error)

// codecs maps each encapsulated transfer syntax to its decoder; why each
// library was chosen is in doc.go.
var codecs = map[string]codec{
	JPEGBaseline:       decodeJPEGGDCM,
	JPEGExtended:       decodeJPEGGDCM,
	JPEGLosslessP14:    decodeJPEGGDCM,
	JPEGLosslessSV1:    decodeJPEGGDCM,
	JPEGLSLossless:     decodeJPEGLS,
	JPEGLSNearLossless: decodeJPEGLS,
	JPEG2000Lossless:   decodeJ2K,
	JPEG2000:           decodeJ2K,
	HTJ2KLossless:      decodeJ2K,
	HTJ2KLosslessRPCL:  decodeJ2K,
	HTJ2K:              decodeJ2K,
	RLELossless:        decodeRLE,
}

// decodeEncapsulated decodes the first frame of encapsulated pixel data.
func (s *Source) decodeEncapsulated(pd *dicom.PixelDataInfo, h header, ts string) error {
	dec, ok := codecs[ts]
	if !ok {
		return notDecodable(ts, "")
	}
	if len(pd.Frames) == 0 {
		return fmt.Errorf("pixels: encapsulated pixel data has no fragments")
	}
	// The parser gives one entry per fragment (the Basic Offset Table
	// skipped). A single-frame image may span several fragments: join them.
	// For multi-frame data take the first fragment, which is the first
	// frame whenever the sender used one fragment per frame (RLE always
	// does, PS3.5 A.4.2).
	var data []byte
	if h.int(tag.NumberOfFrames, 1) > 1 || len(pd.Frames) == 1 {
		data = pd.Frames[0].EncapsulatedData.Data
	} else {
		for _, f := range pd.Frames {
			data = append(data, f.EncapsulatedData.Data...)
		}
	}
	l := headerLayout(h)
	if l.bitsAlloc != 8 && l.bitsAlloc != 16 {
		return notDecodable(ts, fmt.Sprintf("%d bits allocated", l.bitsAlloc))
	}
	if l.bitsStored < 1 || l.bitsStored > l.bitsAlloc {
		return fmt.Errorf("pixels: inconsistent bits (allocated %d, stored %d)", l.bitsAlloc, l.bitsStored)
	}
	if l.samples != 1 && l.samples != 3 {
		return notDecodable(ts, fmt.Sprintf("%d samples per pixel", l.samples))
	}
	d, err := dec(data, frameInfo{rows: s.Rows, cols: s.Cols, l: l, photometric: s.Photometric})
	if err != nil {
		return fmt.Errorf("pixels: %s: %w", tsName(ts), err)
	}
	s.Photometric = d.photometric
	return s.unpack(d.raw, d.l, false, ts)
}

// decodedLayout is the layout of a codec's output for a header layout l:
// same allocation, sample count and sign, values in the low bits.
func decodedLayout(l layout, samples int, planar bool) layout {
	return layout{bitsAlloc: l.bitsAlloc, bitsStored: l.bitsStored, highBit: l.bitsStored - 1,
		samples: samples, planar: planar, signed: l.signed}
}
