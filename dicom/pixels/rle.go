package pixels

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// decodeRLE decodes DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header
// of up to 15 segment offsets, then one PackBits-coded segment per byte
// plane, most significant byte first, sample by sample. The output is
// planar (colour) little-endian native data. It is pure Go: the scheme is
// a page of the standard, and its output is checked byte for byte against
// DCMTK's dcmdrle (rle_test.go).
func decodeRLE(data []byte, f frameInfo) (decodedFrame, error) {
	l := f.l
	bytesPer := l.bitsAlloc / 8
	nseg := bytesPer * l.samples
	if len(data) < 64 {
		return decodedFrame{}, errors.New("RLE header shorter than 64 bytes")
	}
	if got := int(binary.LittleEndian.Uint32(data)); got != nseg {
		return decodedFrame{}, fmt.Errorf("RLE has %d segments, %d samples of %d bits need %d", got, l.samples, l.bitsAlloc, nseg)
	}
	n := f.rows * f.cols
	out := make([]byte, n*bytesPer*l.samples)
	plane := make([]byte, n)
	for seg := 0; seg < nseg; seg++ {
		start := int(binary.LittleEndian.Uint32(data[4+4*seg:]))
		end := len(data)
		if seg+1 < nseg {
			end = int(binary.LittleEndian.Uint32(data[8+4*seg:]))
		}
		if start < 64 || start > end || end > len(data) {
			return decodedFrame{}, fmt.Errorf("RLE segment %d offsets %d..%d outside %d bytes", seg, start, end, len(data))
		}
		if err := unpackBits(data[start:end], plane); err != nil {
			return decodedFrame{}, fmt.Errorf("RLE segment %d: %w", seg, err)
		}
		// Segment seg holds byte (bytesPer-1 - seg%bytesPer) (little-endian
		// order) of sample seg/bytesPer.
		sample, byteIdx := seg/bytesPer, bytesPer-1-seg%bytesPer
		base := sample * n * bytesPer
		for i, b := range plane {
			out[base+i*bytesPer+byteIdx] = b
		}
	}
	photometric := f.photometric
	return decodedFrame{raw: out, l: decodedLayout(l, l.samples, true), photometric: photometric}, nil
}

// unpackBits decodes one PackBits segment into exactly len(dst) bytes (a
// segment may carry one byte of padding past them).
func unpackBits(src, dst []byte) error {
	o := 0
	for i := 0; i < len(src) && o < len(dst); {
		c := int(int8(src[i]))
		i++
		switch {
		case c >= 0:
			k := c + 1
			if i+k > len(src) || o+k > len(dst) {
				return errors.New("literal run past the end")
			}
			copy(dst[o:], src[i:i+k])
			i += k
			o += k
		case c != -128:
			k := 1 - c
			if i >= len(src) || o+k > len(dst) {
				return errors.New("replicate run past the end")
			}
			b := src[i]
			i++
			for j := 0; j < k; j++ {
				dst[o+j] = b
			}
			o += k
		}
	}
	if o != len(dst) {
		return fmt.Errorf("decoded %d bytes, want %d", o, len(dst))
	}
	return nil
}
