package pixels

import "image"

// Stored values, for renderings other than the display pipeline (the
// MIMIC-CXR-JPG model input in inference): the first frame's values as
// pydicom's pixel_array holds them, before any rescale, VOI or inversion.

// StoredHistogram returns how many pixels hold each stored value: counts[i]
// is the number of pixels whose stored value is first+i, over every value
// Bits Stored allows (signed values sign-extended).
func (s *Source) StoredHistogram() (first int, counts []int) {
	counts = make([]int, s.nkeys)
	for _, k := range s.keys {
		counts[k]++
	}
	return s.storedValue(0), counts
}

// StoredValues returns every pixel's stored value (signed values
// sign-extended), row by row: what a reference decoder's uncompressed output
// holds (the codec corpus test and bench/pixels compare them).
func (s *Source) StoredValues() []int32 {
	out := make([]int32, len(s.keys))
	for i, k := range s.keys {
		out[i] = int32(s.storedValue(int(k)))
	}
	return out
}

// StoredContainer is the integer type the stored values come in, as
// pydicom's pixel_array types them: Bits Allocated (8 or 16; 8 for RGB
// shown by its luma) and Pixel Representation.
func (s *Source) StoredContainer() (bits int, signed bool) {
	return s.bitsAllocated, s.signed
}

// MapStored returns the image whose pixels are lut[stored value - first],
// with first and the indexing of StoredHistogram; lut must have as many
// entries as its counts.
func (s *Source) MapStored(lut []uint8) *image.Gray {
	if len(lut) != s.nkeys {
		panic("pixels: MapStored lut has the wrong length")
	}
	return s.apply(lut)
}

// StoredPhotometric is the Photometric Interpretation the stored values are
// in (MONOCHROME2 for decoded colour and JPEG luma).
func (s *Source) StoredPhotometric() string { return s.Photometric }
