package inference

import (
	"fmt"
	"image"
	"math"
	"runtime"
	"sync"
)

// ImageParams is the vision tower's input transform (open_clip's eval
// transform): shortest side to Size with PIL's bicubic, centre crop Size×Size,
// scale to [0,1], normalise per channel.
type ImageParams struct {
	Size int
	Mean [3]float32
	Std  [3]float32
}

// CLIP's normalisation, which LLaVA-Rad's BiomedCLIP-CXR tower uses.
var (
	CLIPMean = [3]float32{0.48145466, 0.4578275, 0.40821073}
	CLIPStd  = [3]float32{0.26862954, 0.26130258, 0.27577711}
)

// Preprocessor turns an 8-bit display image into the [3,Size,Size] float32
// tensor (channel-major) the vision graph takes. Its output equals
// torchvision/open_clip on a PIL image converted to RGB: Resize(Size,
// BICUBIC) uses PIL's resampling (a support-scaled convolution with the
// a = -0.5 cubic, antialiased when downscaling, 22-bit fixed-point
// coefficients, a horizontal pass then a vertical one with 8-bit
// rounding/clipping between them), CenterCrop rounds half to even, ToTensor
// divides by 255 and Normalize subtracts and divides in float32.
//
// Gray→RGB replicates one channel three times, and PIL resamples each channel
// alike, so the resampling runs once on the gray plane. Only the pixels that
// survive the crop are computed. A Preprocessor keeps its coefficient tables
// and scratch space for reuse and is safe for concurrent use.
type Preprocessor struct {
	P ImageParams

	mu    sync.Mutex
	plan  *resamplePlan
	tmp   []uint8 // horizontal pass output
	out8  []uint8 // vertical pass output (Size×Size)
	lut   [3][256]float32
	lutOK bool
}

// NewPreprocessor makes a Preprocessor for p.
func NewPreprocessor(p ImageParams) *Preprocessor {
	pp := &Preprocessor{P: p}
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			x := float32(v) / 255
			pp.lut[c][v] = (x - p.Mean[c]) / p.Std[c]
		}
	}
	pp.lutOK = true
	return pp
}

// pilPrecision is PIL's PRECISION_BITS for 8-bit images (32 - 8 - 2).
const pilPrecision = 22

// axisPlan holds one axis's fixed-point coefficients for the output
// positions that survive the crop.
type axisPlan struct {
	ksize  int
	bounds []int32 // per output: first input index, tap count
	kk     []int32 // per output: ksize coefficients
	skip   bool    // size unchanged: PIL skips the pass
}

type resamplePlan struct {
	inW, inH   int
	outW, outH int // resized size before the crop
	cropX      int
	cropY      int
	h, v       axisPlan
	rowFirst   int // first input row the vertical pass reads
	rowCount   int // input rows the horizontal pass must produce
}

func bicubic(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return ((a+2)*x-(a+3))*x*x + 1
	}
	if x < 2 {
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

// precompute mirrors PIL's precompute_coeffs + normalize_coeffs_8bpc for
// output positions [first, first+n) of a resize from inSize to outSize.
func precompute(inSize, outSize, first, n int) axisPlan {
	const support0 = 2.0 // bicubic
	scale := float64(inSize) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := support0 * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	p := axisPlan{ksize: ksize, bounds: make([]int32, 2*n), kk: make([]int32, ksize*n)}
	w := make([]float64, ksize)
	for i := 0; i < n; i++ {
		xx := first + i
		center := (float64(xx) + 0.5) * scale
		ss := 1 / filterscale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			w[x] = bicubic((float64(x+xmin) - center + 0.5) * ss)
			ww += w[x]
		}
		k := p.kk[i*ksize : (i+1)*ksize]
		for x := 0; x < xmax; x++ {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + v*(1<<pilPrecision))
			} else {
				k[x] = int32(0.5 + v*(1<<pilPrecision))
			}
		}
		p.bounds[2*i] = int32(xmin)
		p.bounds[2*i+1] = int32(xmax)
	}
	return p
}

// ResizedSize is torchvision's Resize(int) output size: the shorter side
// becomes size, the longer int(size*long/short).
func ResizedSize(w, h, size int) (int, int) {
	if w <= h {
		return size, int(float64(size) * float64(h) / float64(w))
	}
	return int(float64(size) * float64(w) / float64(h)), size
}

func newPlan(inW, inH, size int) *resamplePlan {
	outW, outH := ResizedSize(inW, inH, size)
	p := &resamplePlan{inW: inW, inH: inH, outW: outW, outH: outH}
	p.cropX = int(math.RoundToEven(float64(outW-size) / 2))
	p.cropY = int(math.RoundToEven(float64(outH-size) / 2))
	p.h = precompute(inW, outW, p.cropX, size)
	p.h.skip = outW == inW
	p.v = precompute(inH, outH, p.cropY, size)
	p.v.skip = outH == inH
	if p.v.skip {
		p.rowFirst, p.rowCount = p.cropY, size
	} else {
		first := int(p.v.bounds[0])
		last := 0
		for i := 0; i < size; i++ {
			if e := int(p.v.bounds[2*i] + p.v.bounds[2*i+1]); e > last {
				last = e
			}
		}
		p.rowFirst, p.rowCount = first, last-first
	}
	return p
}

func clip8(v int32) uint8 {
	if v >= 255<<pilPrecision {
		return 255
	}
	if v <= 0 {
		return 0
	}
	return uint8(v >> pilPrecision)
}

// parallel runs fn over [0,n) in contiguous bands, one per CPU.
func parallel(n int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	step := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += step {
		hi := min(lo+step, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// Resample8 returns the Size×Size crop of img resized like PIL's BICUBIC
// (shortest side to Size, centre crop). The slice is owned by pp and valid
// until the next call; callers hold pp's lock through prepare. It is kept
// in one piece because its horizontal and vertical passes are the per-pixel
// hot loop (timed by BenchmarkPreprocess) and share one plan, row accessor
// and scratch buffer.
func (pp *Preprocessor) resample8(img *image.Gray) []uint8 {
	b := img.Bounds()
	inW, inH := b.Dx(), b.Dy()
	size := pp.P.Size
	if pp.plan == nil || pp.plan.inW != inW || pp.plan.inH != inH {
		pp.plan = newPlan(inW, inH, size)
	}
	p := pp.plan
	if cap(pp.out8) < size*size {
		pp.out8 = make([]uint8, size*size)
	}
	out := pp.out8[:size*size]
	row := func(y int) []uint8 { // input row y
		o := (y)*img.Stride + 0
		return img.Pix[o : o+inW]
	}
	// Horizontal pass: rows [rowFirst, rowFirst+rowCount) → tmp (size wide).
	var tmp []uint8
	if p.h.skip {
		tmp = nil
	} else {
		if cap(pp.tmp) < p.rowCount*size {
			pp.tmp = make([]uint8, p.rowCount*size)
		}
		tmp = pp.tmp[:p.rowCount*size]
		ks := p.h.ksize
		parallel((p.rowCount+1)/2, func(lo, hi int) {
			for r := 2 * lo; r < 2*hi && r < p.rowCount; r += 2 {
				if r+1 == p.rowCount {
					src := row(p.rowFirst + r)
					dst := tmp[r*size : (r+1)*size]
					for xx := range dst {
						xmin := int(p.h.bounds[2*xx])
						n := int(p.h.bounds[2*xx+1])
						dst[xx] = clip8(dot(src[xmin:xmin+n:xmin+n], p.h.kk[xx*ks:xx*ks+n:xx*ks+n]))
					}
					continue
				}
				a, b := row(p.rowFirst+r), row(p.rowFirst+r+1)
				da, db := tmp[r*size:(r+1)*size], tmp[(r+1)*size:(r+2)*size]
				db = db[:len(da)]
				for xx := range da {
					xmin := int(p.h.bounds[2*xx])
					n := int(p.h.bounds[2*xx+1])
					va, vb := dot2(a[xmin:xmin+n:xmin+n], b[xmin:xmin+n:xmin+n], p.h.kk[xx*ks:xx*ks+n:xx*ks+n])
					da[xx], db[xx] = clip8(va), clip8(vb)
				}
			}
		})
	}
	hrow := func(y int) []uint8 { // horizontal-pass row for input row y
		if tmp == nil {
			o := y*img.Stride + p.cropX
			return img.Pix[o : o+size]
		}
		r := y - p.rowFirst
		return tmp[r*size : (r+1)*size]
	}
	if p.v.skip {
		for yy := 0; yy < size; yy++ {
			copy(out[yy*size:(yy+1)*size], hrow(p.cropY+yy))
		}
		return out
	}
	ks := p.v.ksize
	parallel(size, func(lo, hi int) {
		acc := make([]int32, size)
		for yy := lo; yy < hi; yy++ {
			ymin := int(p.v.bounds[2*yy])
			n := int(p.v.bounds[2*yy+1])
			k := p.v.kk[yy*ks : yy*ks+n]
			for i := range acc {
				acc[i] = 1 << (pilPrecision - 1)
			}
			for j, c := range k {
				src := hrow(ymin + j)[:len(acc)]
				for x, v := range src {
					acc[x] += int32(v) * c
				}
			}
			dst := out[yy*size : (yy+1)*size]
			for x, v := range acc {
				dst[x] = clip8(v)
			}
		}
	})
	return out
}

// Resize8 returns a copy of the 8-bit Size×Size resized, centre-cropped plane.
func (pp *Preprocessor) Resize8(img *image.Gray) ([]uint8, error) {
	if err := pp.check(img); err != nil {
		return nil, err
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	return append([]uint8(nil), pp.resample8(img)...), nil
}

func (pp *Preprocessor) check(img *image.Gray) error {
	if img == nil {
		return fmt.Errorf("preprocess: no image")
	}
	b := img.Bounds()
	if b.Dx() < 1 || b.Dy() < 1 {
		return fmt.Errorf("preprocess: empty image %dx%d", b.Dx(), b.Dy())
	}
	if pp.P.Size < 1 {
		return fmt.Errorf("preprocess: image size %d", pp.P.Size)
	}
	if b.Min != (image.Point{}) {
		// Work on a zero-origin view.
		return fmt.Errorf("preprocess: image origin must be (0,0), got %v", b.Min)
	}
	return nil
}

// Tensor writes the [3,Size,Size] normalised tensor into dst (grown when
// too small) and returns it.
func (pp *Preprocessor) Tensor(img *image.Gray, dst []float32) ([]float32, error) {
	if err := pp.check(img); err != nil {
		return nil, err
	}
	n := pp.P.Size * pp.P.Size
	if cap(dst) < 3*n {
		dst = make([]float32, 3*n)
	}
	dst = dst[:3*n]
	pp.mu.Lock()
	defer pp.mu.Unlock()
	px := pp.resample8(img)
	parallel(3, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			lut := &pp.lut[c]
			d := dst[c*n : (c+1)*n]
			for i, v := range px {
				d[i] = lut[v]
			}
		}
	})
	return dst, nil
}

// dot is PIL's fixed-point tap sum (with its rounding offset) of
// len(k) == len(s) pixels, unrolled by four.
func dot(s []uint8, k []int32) int32 {
	acc := int32(1 << (pilPrecision - 1))
	s = s[:len(k)]
	for len(k) >= 4 {
		s4, k4 := s[:4:4], k[:4:4]
		acc += int32(s4[0])*k4[0] + int32(s4[1])*k4[1] + int32(s4[2])*k4[2] + int32(s4[3])*k4[3]
		s, k = s[4:], k[4:]
	}
	for i, c := range k {
		acc += int32(s[i]) * c
	}
	return acc
}

// dot2 is dot over two rows at once: both 8-bit pixels ride in one int64
// (row b in the high 32 bits), so one multiply serves both. It is exact:
// each lane's sum stays within ±2^31 (255 · Σ|k| < 1.3·2^30 for PIL's
// normalised cubic taps), the int64 never overflows, and the low lane is
// recovered as a signed 32-bit value before the high one.
func dot2(a, b []uint8, k []int32) (int32, int32) {
	const half = 1 << (pilPrecision - 1)
	acc := int64(half) + int64(half)<<32
	a, b = a[:len(k)], b[:len(k)]
	for len(k) >= 4 {
		a4, b4, k4 := a[:4:4], b[:4:4], k[:4:4]
		acc += (int64(a4[0])|int64(b4[0])<<32)*int64(k4[0]) +
			(int64(a4[1])|int64(b4[1])<<32)*int64(k4[1]) +
			(int64(a4[2])|int64(b4[2])<<32)*int64(k4[2]) +
			(int64(a4[3])|int64(b4[3])<<32)*int64(k4[3])
		a, b, k = a[4:], b[4:], k[4:]
	}
	for i, c := range k {
		acc += (int64(a[i]) | int64(b[i])<<32) * int64(c)
	}
	lo := int32(acc)
	return lo, int32((acc - int64(lo)) >> 32)
}
