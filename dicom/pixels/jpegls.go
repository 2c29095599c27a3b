package pixels

/*
#cgo pkg-config: charls
#include <stdlib.h>
#include <string.h>
#include <charls/charls.h>

// radraft_jls_header reads a JPEG-LS header: size, bits, components and
// interleave mode; returns 0 or a CharLS error code.
static int radraft_jls_header(const void *src, size_t n, uint32_t *w, uint32_t *h, int32_t *bits,
		int32_t *comps, int32_t *ilv, size_t *need) {
	charls_jpegls_decoder *d = charls_jpegls_decoder_create();
	if (!d) return -1;
	charls_frame_info fi;
	charls_interleave_mode mode = CHARLS_INTERLEAVE_MODE_NONE;
	int rc = charls_jpegls_decoder_set_source_buffer(d, src, n);
	if (!rc) rc = charls_jpegls_decoder_read_header(d);
	if (!rc) rc = charls_jpegls_decoder_get_frame_info(d, &fi);
	if (!rc) rc = charls_jpegls_decoder_get_interleave_mode(d, &mode);
	if (!rc) rc = charls_jpegls_decoder_get_destination_size(d, 0, need);
	if (!rc) { *w = fi.width; *h = fi.height; *bits = fi.bits_per_sample; *comps = fi.component_count; *ilv = mode; }
	charls_jpegls_decoder_destroy(d);
	return rc;
}

// radraft_jls_decode decodes into dst (packed rows, samples of 1 byte up to
// 8 bits, else 2 little-endian bytes; planar for interleave mode none).
static int radraft_jls_decode(const void *src, size_t n, void *dst, size_t dn) {
	charls_jpegls_decoder *d = charls_jpegls_decoder_create();
	if (!d) return -1;
	int rc = charls_jpegls_decoder_set_source_buffer(d, src, n);
	if (!rc) rc = charls_jpegls_decoder_read_header(d);
	if (!rc) rc = charls_jpegls_decoder_decode_to_buffer(d, dst, dn, 0);
	charls_jpegls_decoder_destroy(d);
	return rc;
}

static const char *radraft_jls_error(int rc) {
	if (rc == -1) return "out of memory";
	return charls_get_error_message((charls_jpegls_errc)rc);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// decodeJPEGLS decodes JPEG-LS (lossless and near-lossless) with CharLS.
func decodeJPEGLS(data []byte, f frameInfo) (decodedFrame, error) {
	if len(data) == 0 {
		return decodedFrame{}, errors.New("empty JPEG-LS stream")
	}
	src := unsafe.Pointer(&data[0])
	var w, h C.uint32_t
	var bits, comps, ilv C.int32_t
	var need C.size_t
	if rc := C.radraft_jls_header(src, C.size_t(len(data)), &w, &h, &bits, &comps, &ilv, &need); rc != 0 {
		return decodedFrame{}, fmt.Errorf("JPEG-LS header: %s", C.GoString(C.radraft_jls_error(rc)))
	}
	if int(w) != f.cols || int(h) != f.rows || int(comps) != f.l.samples {
		return decodedFrame{}, fmt.Errorf("JPEG-LS is %dx%d with %d components, header says %dx%d with %d",
			w, h, comps, f.cols, f.rows, f.l.samples)
	}
	bytesPer := 1
	if bits > 8 {
		bytesPer = 2
	}
	if bits > C.int32_t(f.l.bitsAlloc) || int(need) != f.rows*f.cols*f.l.samples*bytesPer {
		return decodedFrame{}, fmt.Errorf("JPEG-LS of %d bits in %d bits allocated", bits, f.l.bitsAlloc)
	}
	out := make([]byte, int(need))
	if rc := C.radraft_jls_decode(src, C.size_t(len(data)), unsafe.Pointer(&out[0]), need); rc != 0 {
		return decodedFrame{}, fmt.Errorf("JPEG-LS: %s", C.GoString(C.radraft_jls_error(rc)))
	}
	if bytesPer == 1 && f.l.bitsAlloc == 16 {
		out = widen8to16(out)
	}
	planar := f.l.samples > 1 && ilv == C.CHARLS_INTERLEAVE_MODE_NONE
	return decodedFrame{raw: out, l: decodedLayout(f.l, f.l.samples, planar), photometric: f.photometric}, nil
}

// widen8to16 stores 8-bit samples as 16-bit little-endian ones.
func widen8to16(b []byte) []byte {
	out := make([]byte, 2*len(b))
	for i, v := range b {
		out[2*i] = v
	}
	return out
}
