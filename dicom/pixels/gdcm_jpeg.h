// C interface to radraft's GDCM shim (gdcm_jpeg.cc), used by jpeg.go.
#ifndef RADRAFT_GDCM_JPEG_H
#define RADRAFT_GDCM_JPEG_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
// radraft_gdcm_decode decodes one frame of encapsulated pixel data (ts is
// its transfer syntax UID) into out (out_len bytes: the native size of the
// frame). It writes the decoded samples' photometric interpretation into pi
// (pi_len bytes). Returns 0, or 1 with a message in err.
int radraft_gdcm_decode(const char *ts, const void *data, size_t len, unsigned cols, unsigned rows,
	unsigned samples, unsigned bits_alloc, unsigned bits_stored, unsigned pixel_rep, const char *photometric,
	void *out, size_t out_len, char *pi, size_t pi_len, char *err, size_t err_len);
#ifdef __cplusplus
}
#endif
#endif
