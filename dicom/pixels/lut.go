package pixels

import (
	"image"
	"math"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// Percentiles of the stored values used by the robust min-max when a file
// has neither a VOI LUT nor a window.
const (
	PercentileLow  = 0.005
	PercentileHigh = 0.995
)

// voi is one VOI transformation: a window (with its function) or a LUT.
type voi struct {
	lut  *voiLUT
	c, w float64
	fn   string // LINEAR, LINEAR_EXACT, SIGMOID
}

// voiLUT is the first item of the VOI LUT Sequence.
type voiLUT struct {
	first int
	bits  int
	data  []uint16
}

func (s *Source) chooseVOI(h header) {
	if l := parseVOILUT(h, s.signed); l != nil {
		s.voiLUT = l
		s.VOI = VOILUTSequence
		s.WindowCenter = float64(l.first) + float64(len(l.data))/2
		s.WindowWidth = float64(len(l.data))
		return
	}
	c, w := h.float(tag.WindowCenter, math.NaN()), h.float(tag.WindowWidth, math.NaN())
	if !math.IsNaN(c) && !math.IsNaN(w) && w > 0 {
		s.VOI, s.WindowCenter, s.WindowWidth = VOIWindow, c, w
		s.winFunc = strings.ToUpper(h.str(tag.VOILUTFunction))
		if s.winFunc != "LINEAR_EXACT" && s.winFunc != "SIGMOID" {
			s.winFunc = "LINEAR"
			if w < 1 {
				s.WindowWidth = 1
			}
		}
		return
	}
	s.VOI = VOIPercentile
	lo, hi := s.percentiles(h)
	s.pctLo, s.pctHi = lo, hi
	s.WindowCenter, s.WindowWidth = (lo+hi)/2, hi-lo
	s.winFunc = "LINEAR_EXACT"
}

func (s *Source) defaultVOI() voi {
	if s.VOI == VOILUTSequence {
		return voi{lut: s.voiLUT}
	}
	return voi{c: s.WindowCenter, w: s.WindowWidth, fn: s.winFunc}
}

// storedValue is the stored value a key stands for.
func (s *Source) storedValue(k int) int {
	if s.signed {
		return k - s.nkeys/2
	}
	return k
}

func (s *Source) modality(k int) float64 {
	return float64(s.storedValue(k))*s.RescaleSlope + s.RescaleIntercept
}

// percentiles returns the modality values at PercentileLow and
// PercentileHigh of the stored values (nearest rank), padding excluded.
func (s *Source) percentiles(h header) (lo, hi float64) {
	hist := make([]int, s.nkeys)
	for _, k := range s.keys {
		hist[k]++
	}
	total := len(s.keys)
	if pe := h.elem(tag.PixelPaddingValue); pe != nil {
		pad := elemInt(pe, 0)
		if s.signed && pad >= 1<<15 && s.bitsStored <= 16 {
			pad -= 1 << 16 // US read for a signed image
		}
		k := pad
		if s.signed {
			k = pad + s.nkeys/2
		}
		if k >= 0 && k < s.nkeys && hist[k] < total {
			total -= hist[k]
			hist[k] = 0
		}
	}
	rankLo := int(math.Floor(PercentileLow * float64(total-1)))
	rankHi := int(math.Ceil(PercentileHigh * float64(total-1)))
	kLo, kHi := -1, -1
	cum := 0
	for k, n := range hist {
		cum += n
		if kLo < 0 && cum > rankLo {
			kLo = k
		}
		if cum > rankHi {
			kHi = k
			break
		}
	}
	if kLo < 0 {
		kLo = 0
	}
	if kHi < 0 {
		kHi = s.nkeys - 1
	}
	lo, hi = s.modality(kLo), s.modality(kHi)
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi
}

// buildLUT maps every key to its 8-bit display value.
func (s *Source) buildLUT(v voi, invert bool) []uint8 {
	lut := make([]uint8, s.nkeys)
	for k := range lut {
		x := s.modality(k)
		var y float64
		switch {
		case v.lut != nil:
			y = v.lut.apply(x)
		default:
			y = window(x, v.c, v.w, v.fn)
		}
		o := math.Floor(y*255 + 0.5)
		if o < 0 {
			o = 0
		} else if o > 255 {
			o = 255
		}
		b := uint8(o)
		if invert {
			b = 255 - b
		}
		lut[k] = b
	}
	return lut
}

// window applies a VOI LUT Function (PS3.3 C.11.2.1.2 and C.11.2.1.3) and
// returns 0..1.
func window(x, c, w float64, fn string) float64 {
	switch fn {
	case "SIGMOID":
		if w <= 0 {
			w = 1
		}
		return 1 / (1 + math.Exp(-4*(x-c)/w))
	case "LINEAR_EXACT":
		if w <= 0 {
			if x > c {
				return 1
			}
			return 0
		}
		switch {
		case x <= c-w/2:
			return 0
		case x > c+w/2:
			return 1
		}
		return (x-c)/w + 0.5
	default: // LINEAR
		if w < 1 {
			w = 1
		}
		switch {
		case x <= c-0.5-(w-1)/2:
			return 0
		case x > c-0.5+(w-1)/2:
			return 1
		}
		return (x-(c-0.5))/(w-1) + 0.5
	}
}

// apply maps a modality value through the LUT and returns 0..1.
func (l *voiLUT) apply(x float64) float64 {
	i := int(math.Floor(x+0.5)) - l.first
	if i < 0 {
		i = 0
	} else if i >= len(l.data) {
		i = len(l.data) - 1
	}
	return float64(l.data[i]) / float64(int(1)<<l.bits-1)
}

// parseVOILUT reads the first item of the VOI LUT Sequence, or nil.
func parseVOILUT(h header, signed bool) *voiLUT {
	seq := h.elem(tag.VOILUTSequence)
	if seq == nil {
		return nil
	}
	items, ok := seq.Value.GetValue().([]*dicom.SequenceItemValue)
	if !ok || len(items) == 0 {
		return nil
	}
	var desc, data *dicom.Element
	for _, e := range items[0].GetValue().([]*dicom.Element) {
		switch e.Tag {
		case tag.LUTDescriptor:
			desc = e
		case tag.LUTData:
			data = e
		}
	}
	if desc == nil || data == nil {
		return nil
	}
	d, ok := desc.Value.GetValue().([]int)
	if !ok || len(d) < 3 {
		return nil
	}
	n, first, bits := d[0], d[1], d[2]
	if n == 0 {
		n = 65536
	}
	if signed && first >= 1<<15 {
		first -= 1 << 16 // first mapped value written as US for a signed image
	}
	if bits < 1 || bits > 16 {
		return nil
	}
	l := &voiLUT{first: first, bits: bits, data: make([]uint16, n)}
	switch v := data.Value.GetValue().(type) {
	case []int:
		if len(v) < n {
			return nil
		}
		for i := range l.data {
			l.data[i] = uint16(v[i])
		}
	case []byte: // OW, little endian words as the parser hands them over
		switch {
		case len(v) >= 2*n:
			for i := range l.data {
				l.data[i] = uint16(v[2*i]) | uint16(v[2*i+1])<<8
			}
		case bits <= 8 && len(v) >= n: // 8-bit entries packed two per word
			for i := range l.data {
				l.data[i] = uint16(v[i])
			}
		default:
			return nil
		}
	default:
		return nil
	}
	return l
}

// RenderOptions adjust the default display for a preview.
type RenderOptions struct {
	// WindowCenter and WindowWidth, in modality units (after rescale), replace
	// the default VOI with the linear window function when WindowWidth > 0.
	WindowCenter, WindowWidth float64
	// Invert flips the default polarity (it does not force MONOCHROME1's).
	Invert bool
	// MaxSize bounds the longer side in pixels (area-averaged); 0 = full size.
	MaxSize int
}

// RenderFile opens the Part 10 file at path and renders it (for previews).
func RenderFile(path string, o RenderOptions) (*image.Gray, error) {
	s, err := Open(path)
	if err != nil {
		return nil, err
	}
	return s.Render(o), nil
}

// Render returns a display image with the options applied.
func (s *Source) Render(o RenderOptions) *image.Gray {
	lut := s.defaultLUT
	if o.WindowWidth > 0 || o.Invert {
		v := s.defaultVOI()
		if o.WindowWidth > 0 {
			v = voi{c: o.WindowCenter, w: o.WindowWidth, fn: "LINEAR"}
		}
		lut = s.buildLUT(v, s.Invert != o.Invert)
	}
	img := s.apply(lut)
	if o.MaxSize > 0 && (s.Cols > o.MaxSize || s.Rows > o.MaxSize) {
		img = downscale(img, o.MaxSize)
	}
	return img
}

// downscale area-averages img so that its longer side is max.
func downscale(src *image.Gray, max int) *image.Gray {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := max, max
	if sw >= sh {
		dh = int(math.Round(float64(sh) * float64(max) / float64(sw)))
	} else {
		dw = int(math.Round(float64(sw) * float64(max) / float64(sh)))
	}
	if dw < 1 {
		dw = 1
	}
	if dh < 1 {
		dh = 1
	}
	// Column spans are the same for every row: compute them once, and the
	// output column of every source column.
	x0s := make([]int, dw+1)
	for x := 0; x <= dw; x++ {
		x0s[x] = x * sw / dw
	}
	col := make([]int32, sw)
	for x := 0; x < dw; x++ {
		for sx := x0s[x]; sx < x0s[x+1]; sx++ {
			col[sx] = int32(x)
		}
	}
	dst := image.NewGray(image.Rect(0, 0, dw, dh))
	sums := make([]int, dw)
	for y := 0; y < dh; y++ {
		y0, y1 := y*sh/dh, (y+1)*sh/dh
		clear(sums)
		for sy := y0; sy < y1; sy++ {
			row := src.Pix[sy*src.Stride : sy*src.Stride+sw]
			for sx, v := range row {
				sums[col[sx]] += int(v)
			}
		}
		rows := y1 - y0
		for x := 0; x < dw; x++ {
			n := rows * (x0s[x+1] - x0s[x])
			dst.Pix[y*dst.Stride+x] = uint8((sums[x] + n/2) / n)
		}
	}
	return dst
}
