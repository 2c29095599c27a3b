// A small C shim over GDCM's C++ image API: it wraps one frame's JPEG
// bytes in a gdcm::Image (dimensions, pixel format, photometric, transfer
// syntax from the Go side's header) and lets GDCM's JPEG codec, built on
// its 8/12/16-bit IJG libraries with the lossless process, decode it.
#include "gdcm_jpeg.h"

#include <cstdio>
#include <exception>
#include <vector>

#include <gdcmDataElement.h>
#include <gdcmFragment.h>
#include <gdcmImage.h>
#include <gdcmPhotometricInterpretation.h>
#include <gdcmPixelFormat.h>
#include <gdcmSequenceOfFragments.h>
#include <gdcmTrace.h>
#include <gdcmTransferSyntax.h>

// GDCM prints warnings (e.g. each IJG precision it tries) to stderr: the
// Go side reports errors itself.
static const bool radraft_gdcm_quiet = [] {
	gdcm::Trace::SetWarning(false);
	gdcm::Trace::SetDebug(false);
	gdcm::Trace::SetError(false);
	return true;
}();

extern "C" int radraft_gdcm_decode(const char *ts, const void *data, size_t len, unsigned cols, unsigned rows,
	unsigned samples, unsigned bits_alloc, unsigned bits_stored, unsigned pixel_rep, const char *photometric,
	void *out, size_t out_len, char *pi, size_t pi_len, char *err, size_t err_len) {
	try {
		gdcm::TransferSyntax::TSType tst = gdcm::TransferSyntax::GetTSType(ts);
		if (tst == gdcm::TransferSyntax::TS_END) {
			std::snprintf(err, err_len, "GDCM does not know transfer syntax %s", ts);
			return 1;
		}
		gdcm::Image img;
		img.SetNumberOfDimensions(2);
		img.SetDimension(0, cols);
		img.SetDimension(1, rows);
		img.SetPixelFormat(gdcm::PixelFormat(samples, bits_alloc, bits_stored, bits_stored - 1, pixel_rep));
		gdcm::PhotometricInterpretation::PIType pit = gdcm::PhotometricInterpretation::GetPIType(photometric);
		if (pit == gdcm::PhotometricInterpretation::UNKNOWN || pit == gdcm::PhotometricInterpretation::PI_END) {
			pit = samples == 1 ? gdcm::PhotometricInterpretation::MONOCHROME2 : gdcm::PhotometricInterpretation::RGB;
		}
		img.SetPhotometricInterpretation(pit);
		img.SetTransferSyntax(gdcm::TransferSyntax(tst));
		// Fragments hold even lengths (PS3.5 A.4): pad a copy when needed.
		std::vector<char> buf(static_cast<const char *>(data), static_cast<const char *>(data) + len);
		if (buf.size() % 2) buf.push_back(0);
		gdcm::Fragment frag;
		frag.SetByteValue(buf.data(), static_cast<uint32_t>(buf.size()));
		gdcm::SmartPointer<gdcm::SequenceOfFragments> sq = new gdcm::SequenceOfFragments;
		sq->AddFragment(frag);
		gdcm::DataElement pixel(gdcm::Tag(0x7fe0, 0x0010));
		pixel.SetVR(gdcm::VR::OB);
		pixel.SetValue(*sq);
		img.SetDataElement(pixel);
		if (img.GetBufferLength() != out_len) {
			std::snprintf(err, err_len, "GDCM wants %lu bytes, the header's frame is %zu",
				img.GetBufferLength(), out_len);
			return 1;
		}
		if (!img.GetBuffer(static_cast<char *>(out))) {
			std::snprintf(err, err_len, "GDCM could not decode the JPEG stream");
			return 1;
		}
		const char *got = gdcm::PhotometricInterpretation::GetPIString(img.GetPhotometricInterpretation());
		std::snprintf(pi, pi_len, "%s", got ? got : "");
		return 0;
	} catch (const std::exception &e) {
		std::snprintf(err, err_len, "GDCM: %s", e.what());
	} catch (...) {
		std::snprintf(err, err_len, "GDCM: unknown exception");
	}
	return 1;
}
