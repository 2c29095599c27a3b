package pixels

/*
#cgo pkg-config: libopenjp2
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <openjpeg.h>

typedef struct { const OPJ_BYTE *p; OPJ_SIZE_T n, pos; } radraft_mem;

static OPJ_SIZE_T radraft_mem_read(void *buf, OPJ_SIZE_T k, void *u) {
	radraft_mem *m = u;
	if (m->pos >= m->n) return (OPJ_SIZE_T)-1;
	if (k > m->n - m->pos) k = m->n - m->pos;
	memcpy(buf, m->p + m->pos, k);
	m->pos += k;
	return k;
}
static OPJ_OFF_T radraft_mem_skip(OPJ_OFF_T k, void *u) {
	radraft_mem *m = u;
	if (k < 0) { if ((OPJ_SIZE_T)(-k) > m->pos) k = -(OPJ_OFF_T)m->pos; }
	else if ((OPJ_SIZE_T)k > m->n - m->pos) k = (OPJ_OFF_T)(m->n - m->pos);
	m->pos += k;
	return k;
}
static OPJ_BOOL radraft_mem_seek(OPJ_OFF_T k, void *u) {
	radraft_mem *m = u;
	if (k < 0 || (OPJ_SIZE_T)k > m->n) return OPJ_FALSE;
	m->pos = (OPJ_SIZE_T)k;
	return OPJ_TRUE;
}

typedef struct { char msg[200]; } radraft_opj_err;
static void radraft_opj_error(const char *msg, void *u) {
	radraft_opj_err *e = u;
	if (!e->msg[0]) snprintf(e->msg, sizeof e->msg, "%s", msg);
}
static void radraft_opj_quiet(const char *msg, void *u) { (void)msg; (void)u; }

// radraft_j2k_decode decodes a J2K codestream (or JP2 file) into out:
// rows*cols*comps samples, pixel-interleaved, of bytes_per (1 or 2, little
// endian) bytes each, the low bits of each component's value. It checks the
// codestream's size and component count against the DICOM header first.
// Returns 0, or 1 with err set.
static int radraft_j2k_decode(const OPJ_BYTE *p, OPJ_SIZE_T n, OPJ_UINT32 cols, OPJ_UINT32 rows,
		OPJ_UINT32 comps, int bytes_per, OPJ_BYTE *out, OPJ_UINT32 *prec, radraft_opj_err *err) {
	radraft_mem m = { p, n, 0 };
	OPJ_CODEC_FORMAT fmt = OPJ_CODEC_J2K;
	if (n >= 12 && memcmp(p, "\x00\x00\x00\x0cjP  \r\n\x87\n", 12) == 0) fmt = OPJ_CODEC_JP2;
	opj_codec_t *codec = opj_create_decompress(fmt);
	opj_stream_t *st = opj_stream_default_create(OPJ_TRUE);
	opj_image_t *img = NULL;
	int rc = 1;
	if (!codec || !st) { snprintf(err->msg, sizeof err->msg, "out of memory"); goto done; }
	opj_set_error_handler(codec, radraft_opj_error, err);
	opj_set_warning_handler(codec, radraft_opj_quiet, NULL);
	opj_set_info_handler(codec, radraft_opj_quiet, NULL);
	opj_stream_set_user_data(st, &m, NULL);
	opj_stream_set_user_data_length(st, n);
	opj_stream_set_read_function(st, radraft_mem_read);
	opj_stream_set_skip_function(st, radraft_mem_skip);
	opj_stream_set_seek_function(st, radraft_mem_seek);
	opj_dparameters_t prm;
	opj_set_default_decoder_parameters(&prm);
	if (!opj_setup_decoder(codec, &prm) || !opj_read_header(st, codec, &img)) goto fail;
	if (img->x1 - img->x0 != cols || img->y1 - img->y0 != rows || img->numcomps != comps) {
		snprintf(err->msg, sizeof err->msg, "codestream is %ux%u with %u components, header says %ux%u with %u",
			img->x1 - img->x0, img->y1 - img->y0, img->numcomps, cols, rows, comps);
		goto done;
	}
	if (!opj_decode(codec, st, img) || !opj_end_decompress(codec, st)) goto fail;
	for (OPJ_UINT32 c = 0; c < comps; c++) {
		opj_image_comp_t *k = &img->comps[c];
		if (k->w != cols || k->h != rows || k->dx != 1 || k->dy != 1 || !k->data) {
			snprintf(err->msg, sizeof err->msg, "component %u is subsampled or missing", c);
			goto done;
		}
	}
	*prec = 0;
	for (OPJ_UINT32 c = 0; c < comps; c++) if (img->comps[c].prec > *prec) *prec = img->comps[c].prec;
	OPJ_SIZE_T np = (OPJ_SIZE_T)rows * cols;
	for (OPJ_UINT32 c = 0; c < comps; c++) {
		const OPJ_INT32 *d = img->comps[c].data;
		if (bytes_per == 1) {
			for (OPJ_SIZE_T i = 0; i < np; i++) out[i * comps + c] = (OPJ_BYTE)d[i];
		} else {
			for (OPJ_SIZE_T i = 0; i < np; i++) {
				OPJ_UINT32 v = (OPJ_UINT32)d[i];
				out[2 * (i * comps + c)] = (OPJ_BYTE)v;
				out[2 * (i * comps + c) + 1] = (OPJ_BYTE)(v >> 8);
			}
		}
	}
	rc = 0;
	goto done;
fail:
	if (!err->msg[0]) snprintf(err->msg, sizeof err->msg, "decode failed");
done:
	if (img) opj_image_destroy(img);
	if (st) opj_stream_destroy(st);
	if (codec) opj_destroy_codec(codec);
	return rc;
}
*/
import "C"

import (
	"errors"
	"strings"
	"unsafe"
)

// decodeJ2K decodes JPEG 2000 (Part 1, lossless and lossy) and
// High-Throughput JPEG 2000 (Part 15) with OpenJPEG (2.5 decodes HTJ2K).
// OpenJPEG applies the inverse multi-component transform itself, so a
// YBR_RCT/YBR_ICT image comes out RGB.
func decodeJ2K(data []byte, f frameInfo) (decodedFrame, error) {
	if len(data) == 0 {
		return decodedFrame{}, errors.New("empty JPEG 2000 codestream")
	}
	bytesPer := f.l.bitsAlloc / 8
	out := make([]byte, f.rows*f.cols*f.l.samples*bytesPer)
	var e C.radraft_opj_err
	var prec C.OPJ_UINT32
	rc := C.radraft_j2k_decode((*C.OPJ_BYTE)(unsafe.Pointer(&data[0])), C.OPJ_SIZE_T(len(data)),
		C.OPJ_UINT32(f.cols), C.OPJ_UINT32(f.rows), C.OPJ_UINT32(f.l.samples), C.int(bytesPer),
		(*C.OPJ_BYTE)(unsafe.Pointer(&out[0])), &prec, &e)
	if rc != 0 {
		return decodedFrame{}, errors.New("OpenJPEG: " + strings.TrimSpace(C.GoString(&e.msg[0])))
	}
	l := decodedLayout(f.l, f.l.samples, false)
	// A codestream more precise than Bits Stored says (lossy encoders
	// do this) has values above it: trust the codestream, as GDCM does.
	if p := int(prec); p > l.bitsStored && p <= l.bitsAlloc {
		l.bitsStored, l.highBit = p, p-1
	}
	photometric := f.photometric
	if photometric == "YBR_RCT" || photometric == "YBR_ICT" {
		photometric = "RGB"
	}
	return decodedFrame{raw: out, l: l, photometric: photometric}, nil
}
