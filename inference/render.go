package inference

import (
	"fmt"
	"image"
	"math"
)

// Model-input renderings: how a DICOM's pixels become the 8-bit image the
// model's preprocessing starts from. A bundle names its rendering in
// model.json ("input_rendering").
const (
	// RenderingDisplay is the viewer's windowed rendering (dicom/pixels'
	// default display image: VOI LUT, window or robust percentiles,
	// MONOCHROME1 inverted). Bundles of schema 1 use it.
	RenderingDisplay = "display"
	// RenderingMIMICCXRJPG is the function that made MIMIC-CXR-JPG from
	// the MIMIC-CXR DICOMs (MIT-LCP/mimic-cxr issue 16), the distribution
	// LLaVA-Rad was trained on; see RenderMIMICCXRJPG.
	RenderingMIMICCXRJPG = "mimic-cxr-jpg"
)

// Renderings lists the known input renderings.
var Renderings = []string{RenderingDisplay, RenderingMIMICCXRJPG}

// StoredPixels is a decoded frame's stored values (dicom/pixels' Source):
// a histogram over every value Bits Stored allows, the integer type
// pydicom's pixel_array would hold them in, the Photometric
// Interpretation, and a way to map each stored value to 8 bits.
type StoredPixels interface {
	StoredHistogram() (first int, counts []int)
	StoredContainer() (bits int, signed bool)
	StoredPhotometric() string
	MapStored(lut []uint8) *image.Gray
}

// DICOMImage is a decoded DICOM frame that also has a display rendering
// (dicom/pixels' *Source).
type DICOMImage interface {
	StoredPixels
	Display() *image.Gray
}

// ModelInput returns the function that turns a DICOM file into the model's
// 8-bit input with the named rendering, from a decoder (dicom/pixels' Open).
func ModelInput[S DICOMImage](rendering string, open func(path string) (S, error)) (func(path string) (*image.Gray, error), error) {
	switch rendering {
	case RenderingDisplay, "":
		return func(path string) (*image.Gray, error) {
			s, err := open(path)
			if err != nil {
				return nil, err
			}
			return s.Display(), nil
		}, nil
	case RenderingMIMICCXRJPG:
		return func(path string) (*image.Gray, error) {
			s, err := open(path)
			if err != nil {
				return nil, err
			}
			return RenderMIMICCXRJPG(s)
		}, nil
	}
	return nil, fmt.Errorf("input rendering %q is not one of %v", rendering, Renderings)
}

// RenderMIMICCXRJPG renders stored values exactly as MIMIC-CXR-JPG was made
// from MIMIC-CXR (the published dcm2img: pydicom's pixel_array, then numpy
// and OpenCV), at the stored size:
//
//  1. x = pixel_array - pixel_array.min(), in pixel_array's own integer type
//     (numpy wraps around when the range does not fit it, e.g. signed
//     16-bit data spanning more than 32767; reproduced);
//  2. x / x.max() in float64, times 255, cast to uint8 (truncation; numpy's
//     cast of a negative float, which only the wrap-around can make, keeps
//     the low 8 bits of the truncated integer, as on x86-64; a constant
//     image, 0/0, gives 0);
//  3. cv2.bitwise_not (255 - v) when Photometric Interpretation is
//     MONOCHROME1 (the tag only: Presentation LUT Shape is not read);
//  4. cv2.equalizeHist: lut[v] = round-half-even(cdf'(v) · (255 / (N -
//     h[m]))) in float32, where m is the smallest grey level present, cdf'
//     the histogram summed from m+1 to v, N the pixel count; an image of one
//     grey level stays as it is.
//
// Every step is a function of the stored value, so the whole rendering is one
// lookup table built from the stored-value histogram and applied in one pass.
func RenderMIMICCXRJPG(src StoredPixels) (*image.Gray, error) {
	first, counts := src.StoredHistogram()
	bits, signed := src.StoredContainer()
	if bits != 8 && bits != 16 {
		return nil, fmt.Errorf("mimic-cxr-jpg rendering: %d-bit stored values", bits)
	}
	// wrap is numpy's arithmetic in pixel_array's dtype.
	wrap := func(v int) int {
		v &= 1<<bits - 1
		if signed && v >= 1<<(bits-1) {
			v -= 1 << bits
		}
		return v
	}
	lo, total := math.MaxInt, 0
	for i, c := range counts {
		if c > 0 {
			lo = min(lo, first+i)
			total += c
		}
	}
	if total == 0 {
		return nil, fmt.Errorf("mimic-cxr-jpg rendering: no pixels")
	}
	maxDiff := math.MinInt
	for i, c := range counts {
		if c > 0 {
			maxDiff = max(maxDiff, wrap(first+i-lo))
		}
	}
	scaled := make([]uint8, len(counts))
	var hist [256]int
	for i, c := range counts {
		v := uint8(scaleTo255(wrap(first+i-lo), maxDiff))
		if src.StoredPhotometric() == "MONOCHROME1" {
			v = 255 - v
		}
		scaled[i] = v
		hist[v] += c
	}
	eq := equalizeHistLUT(&hist, total)
	for i, v := range scaled {
		scaled[i] = eq[v]
	}
	return src.MapStored(scaled), nil
}

// scaleTo255 is numpy's ((d / m) * 255).astype(uint8) for one value, as an
// int whose low 8 bits are the result.
func scaleTo255(d, m int) int {
	f := float64(d) / float64(m) * 255
	if math.IsNaN(f) || math.IsInf(f, 0) {
		// x86-64's cvttsd2si gives INT_MIN (low byte 0).
		return 0
	}
	return int(int32(f))
}

// equalizeHistLUT is OpenCV's equalizeHist lookup table for an 8-bit
// histogram of total pixels.
func equalizeHistLUT(hist *[256]int, total int) [256]uint8 {
	var lut [256]uint8
	i := 0
	for hist[i] == 0 {
		i++
	}
	if hist[i] == total {
		for v := range lut {
			lut[v] = uint8(i)
		}
		return lut
	}
	scale := float32(255) / float32(total-hist[i])
	sum := 0
	for lut[i], i = 0, i+1; i < 256; i++ {
		sum += hist[i]
		p := float64(float32(float32(sum) * scale))
		lut[i] = uint8(max(0, min(255, math.RoundToEven(p))))
	}
	return lut
}
