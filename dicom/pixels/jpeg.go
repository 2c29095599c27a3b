package pixels

/*
#cgo CXXFLAGS: -std=c++14 -I/usr/include/gdcm-3.0
#cgo LDFLAGS: -lgdcmMSFF -lgdcmDSED -lgdcmCommon -lstdc++
#include <stdlib.h>
#include "gdcm_jpeg.h"
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// decodeJPEGGDCM decodes JPEG (ISO 10918-1) baseline, extended 12-bit and
// lossless (process 14, every predictor) with GDCM's JPEG codec.
func decodeJPEGGDCM(data []byte, f frameInfo) (decodedFrame, error) {
	sof, err := jpegFrameHeader(data)
	if err != nil {
		return decodedFrame{}, err
	}
	// Checked here, before any C code allocates for what the stream says.
	if sof.width != f.cols || sof.height != f.rows || sof.components != f.l.samples {
		return decodedFrame{}, fmt.Errorf("JPEG is %dx%d with %d components, header says %dx%d with %d",
			sof.width, sof.height, sof.components, f.cols, f.rows, f.l.samples)
	}
	if sof.precision > f.l.bitsAlloc {
		return decodedFrame{}, fmt.Errorf("JPEG of %d bits in %d bits allocated", sof.precision, f.l.bitsAlloc)
	}
	pixelRep := 0
	if f.l.signed {
		pixelRep = 1
	}
	ts := C.CString(sof.ts)
	defer C.free(unsafe.Pointer(ts))
	pm := C.CString(f.photometric)
	defer C.free(unsafe.Pointer(pm))
	out := make([]byte, f.rows*f.cols*f.l.samples*f.l.bitsAlloc/8)
	var pi [32]C.char
	var msg [200]C.char
	// GDCM picks its 8, 12 or 16-bit IJG build by Bits Stored: give it the
	// stream's precision (DCMTK writes a 10-bit CR as 12-bit JPEG) so that
	// it picks the right one at once. The values still fit Bits Stored.
	bits := max(sof.precision, f.l.bitsStored)
	rc := C.radraft_gdcm_decode(ts, unsafe.Pointer(&data[0]), C.size_t(len(data)), C.uint(f.cols), C.uint(f.rows),
		C.uint(f.l.samples), C.uint(f.l.bitsAlloc), C.uint(bits), C.uint(pixelRep), pm,
		unsafe.Pointer(&out[0]), C.size_t(len(out)), &pi[0], C.size_t(len(pi)), &msg[0], C.size_t(len(msg)))
	if rc != 0 {
		return decodedFrame{}, errors.New(C.GoString(&msg[0]))
	}
	photometric := strings.TrimSpace(C.GoString(&pi[0]))
	if photometric == "" {
		photometric = f.photometric
	}
	return decodedFrame{raw: out, l: decodedLayout(f.l, f.l.samples, false), photometric: photometric}, nil
}

// jpegSOF is what a JPEG frame header (SOFn, ISO 10918-1 B.2.2) says.
type jpegSOF struct {
	width, height, components, precision int
	// ts is the transfer syntax that names the stream's process, handed to
	// GDCM so that it picks the right IJG build (8, 12 or 16 bits).
	ts string
}

// jpegFrameHeader finds the first SOFn marker segment.
func jpegFrameHeader(b []byte) (jpegSOF, error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return jpegSOF{}, errors.New("no JPEG start-of-image marker")
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return jpegSOF{}, fmt.Errorf("no JPEG marker at byte %d", i)
		}
		m := b[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return jpegSOF{}, errors.New("JPEG marker segment past the end")
		}
		seg := b[i+4 : i+2+n]
		switch {
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			if len(seg) < 6 {
				return jpegSOF{}, errors.New("short JPEG frame header")
			}
			sof := jpegSOF{precision: int(seg[0]), height: int(binary.BigEndian.Uint16(seg[1:])),
				width: int(binary.BigEndian.Uint16(seg[3:])), components: int(seg[5])}
			switch m {
			case 0xC0:
				sof.ts = JPEGBaseline
			case 0xC1, 0xC2: // extended / progressive: 8 or 12 bits
				sof.ts = JPEGExtended
			case 0xC3, 0xC7: // lossless
				sof.ts = JPEGLosslessP14
			default:
				return jpegSOF{}, fmt.Errorf("JPEG process of marker 0x%X (arithmetic or hierarchical) is not supported", m)
			}
			return sof, nil
		case m == 0xDA:
			return jpegSOF{}, errors.New("JPEG scan before any frame header")
		}
		i += 2 + n
	}
	return jpegSOF{}, errors.New("no JPEG frame header")
}
