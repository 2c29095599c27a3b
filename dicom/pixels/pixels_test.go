package pixels_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/radraft/radraft/dicom/pixels"
	"github.com/radraft/radraft/internal/testfiles"
	"github.com/radraft/radraft/internal/testpeers"
)

// The fixtures come from `go run ./dicom/pixels/internal/mkfixtures
// dicom/pixels/testdata`: 64x32 ramps whose stored value depends on the
// column. The expectations below restate the formulas of DICOM PS3.3
// C.11.2.1.2 independently of the package.

func fixture(t *testing.T, name string) *pixels.Source {
	t.Helper()
	s, err := pixels.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if s.Cols != 64 || s.Rows != 32 {
		t.Fatalf("%s: size %dx%d, want 64x32", name, s.Cols, s.Rows)
	}
	return s
}

// linear is the DICOM "LINEAR" window function scaled to 0..255.
func linear(x, c, w float64) uint8 {
	switch {
	case x <= c-0.5-(w-1)/2:
		return 0
	case x > c-0.5+(w-1)/2:
		return 255
	}
	return round255((x-(c-0.5))/(w-1) + 0.5)
}

// stretch maps lo..hi linearly to 0..255.
func stretch(x, lo, hi float64) uint8 {
	return round255((x - lo) / (hi - lo))
}

func round255(f float64) uint8 {
	v := math.Floor(f*255 + 0.5)
	return uint8(math.Max(0, math.Min(255, v)))
}

func checkColumns(t *testing.T, name string, img *image.Gray, want func(x int) uint8) {
	t.Helper()
	for y := 0; y < img.Rect.Dy(); y++ {
		for x := 0; x < img.Rect.Dx(); x++ {
			if got, w := img.GrayAt(x, y).Y, want(x); got != w {
				t.Fatalf("%s: pixel (%d,%d) = %d, want %d", name, x, y, got, w)
			}
		}
	}
}

func TestNative(t *testing.T) {
	win := func(x int) uint8 { return linear(float64(x*64), 2048, 2048) }
	cases := []struct {
		file string
		voi  pixels.VOIKind
		want func(x int) uint8
	}{
		// 8-bit, no window: robust min-max over 0..252.
		{"mono2_u8.dcm", pixels.VOIPercentile, func(x int) uint8 { return stretch(float64(x*4), 0, 252) }},
		// 12 of 16 bits with junk in the top 4 bits: masked, then windowed.
		{"mono2_u16_window.dcm", pixels.VOIWindow, win},
		{"mono1_u16_window.dcm", pixels.VOIWindow, func(x int) uint8 { return 255 - win(x) }},
		{"mono2_u16_inverse.dcm", pixels.VOIWindow, func(x int) uint8 { return 255 - win(x) }},
		// signed 16-bit, slope 2 intercept -1000, window -500/4000 in modality units.
		{"mono2_s16_rescale.dcm", pixels.VOIWindow, func(x int) uint8 {
			return linear(2*float64((x-32)*100)-1000, -500, 4000)
		}},
		// signed 12-bit big endian, no window: min-max of -1920..1860.
		{"mono2_s12_bigendian.dcm", pixels.VOIPercentile, func(x int) uint8 {
			return stretch(float64((x-32)*60), -1920, 1860)
		}},
		// VOI LUT staircase wins over the (very different) window.
		{"mono2_u16_voilut.dcm", pixels.VOILUTSequence, func(x int) uint8 { return uint8((x * 64 / 256) * 17) }},
		// 16-bit entries, first mapped value 1024: clamped below and above.
		{"mono2_u16_voilut16.dcm", pixels.VOILUTSequence, func(x int) uint8 {
			i := min(max(x*64-1024, 0), 2047)
			f := float64(i) / 2047
			return round255(math.Round(65535*f*f) / 65535)
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			s := fixture(t, c.file)
			if s.VOI != c.voi {
				t.Errorf("VOI %q, want %q", s.VOI, c.voi)
			}
			checkColumns(t, c.file, s.Display(), c.want)
		})
	}
}

func TestPercentileIgnoresOutliers(t *testing.T) {
	s := fixture(t, "mono2_u16_percentile.dcm")
	img := s.Display()
	// Ramp 1000..1630 by column; one pixel of 0 at (0,0), one of 60000 at (63,31).
	for y := 0; y < 32; y++ {
		for x := 0; x < 64; x++ {
			want := stretch(float64(1000+10*x), 1000, 1630)
			switch {
			case x == 0 && y == 0:
				want = 0
			case x == 63 && y == 31:
				want = 255
			}
			if got := img.GrayAt(x, y).Y; got != want {
				t.Fatalf("pixel (%d,%d) = %d, want %d", x, y, got, want)
			}
		}
	}
	if s.WindowCenter != 1315 || s.WindowWidth != 630 {
		t.Errorf("equivalent window %v/%v, want 1315/630", s.WindowCenter, s.WindowWidth)
	}
}

func TestJPEGBaseline(t *testing.T) {
	s := fixture(t, "jpeg_baseline.dcm")
	img := s.Display()
	// Lossy ramp 0..252 (quality 95), min-max stretched: close to x*4*255/252.
	for y := 0; y < 32; y++ {
		for x := 0; x < 64; x++ {
			want := float64(x*4) * 255 / 252
			if got := float64(img.GrayAt(x, y).Y); math.Abs(got-want) > 8 {
				t.Fatalf("pixel (%d,%d) = %v, want about %.0f", x, y, got, want)
			}
		}
	}
}

func TestNotDecodable(t *testing.T) {
	_, err := pixels.Open(filepath.Join("testdata", "mpeg2.dcm"))
	if !errors.Is(err, pixels.ErrNotDecodable) {
		t.Fatalf("err = %v, want ErrNotDecodable", err)
	}
	var nd *pixels.NotDecodableError
	if !errors.As(err, &nd) || nd.TransferSyntaxUID != "1.2.840.10008.1.2.4.100" {
		t.Fatalf("err = %#v", err)
	}
	const want = "not decodable for drafting: MPEG2 Main Profile / Main Level (1.2.840.10008.1.2.4.100)"
	if err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
	// A decodable syntax with a broken codestream is an error, but not
	// "not decodable": the file is damaged, not of an unknown kind.
	_, err = pixels.Open(filepath.Join("testdata", "jpeg2000.dcm"))
	if err == nil || errors.Is(err, pixels.ErrNotDecodable) {
		t.Fatalf("broken JPEG 2000: err = %v", err)
	}
}

func TestRender(t *testing.T) {
	s := fixture(t, "mono2_u16_window.dcm")
	// Window override, in modality units.
	img := s.Render(pixels.RenderOptions{WindowCenter: 1000, WindowWidth: 500})
	checkColumns(t, "override", img, func(x int) uint8 { return linear(float64(x*64), 1000, 500) })
	// Invert alone keeps the default window.
	img = s.Render(pixels.RenderOptions{Invert: true})
	checkColumns(t, "invert", img, func(x int) uint8 { return 255 - linear(float64(x*64), 2048, 2048) })
	// On a MONOCHROME1 image, Invert gives back the raw polarity.
	m1 := fixture(t, "mono1_u16_window.dcm")
	checkColumns(t, "mono1 invert", m1.Render(pixels.RenderOptions{Invert: true}), func(x int) uint8 {
		return linear(float64(x*64), 2048, 2048)
	})
	// MaxSize 16: 16x8, each output pixel the rounded mean of a 4x4 block.
	small := s.Render(pixels.RenderOptions{MaxSize: 16})
	if small.Rect.Dx() != 16 || small.Rect.Dy() != 8 {
		t.Fatalf("downscaled to %v", small.Rect)
	}
	full := s.Display()
	for x := 0; x < 16; x++ {
		sum := 0
		for dx := 0; dx < 4; dx++ {
			sum += 4 * int(full.GrayAt(4*x+dx, 0).Y)
		}
		if got, want := small.GrayAt(x, 3).Y, uint8((sum+8)/16); got != want {
			t.Errorf("downscaled column %d = %d, want %d", x, got, want)
		}
	}
	// No MaxSize change for an image already small enough.
	if r := s.Render(pixels.RenderOptions{MaxSize: 100}).Rect; r.Dx() != 64 {
		t.Errorf("MaxSize larger than the image resized it to %v", r)
	}
}

// TestCR decodes the real chest CR: MONOCHROME1, 10 of 16 bits, window 511/1023.
func TestCR(t *testing.T) {
	path := testfiles.CR(t)
	s, err := pixels.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Cols != 1760 || s.Rows != 2140 || s.Photometric != "MONOCHROME1" || !s.Invert || s.VOI != pixels.VOIWindow {
		t.Fatalf("decoded %dx%d %s invert=%v voi=%s", s.Cols, s.Rows, s.Photometric, s.Invert, s.VOI)
	}
	img := s.Display()
	var sum, sum2 float64
	for _, v := range img.Pix {
		sum += float64(v)
		sum2 += float64(v) * float64(v)
	}
	n := float64(len(img.Pix))
	mean := sum / n
	sd := math.Sqrt(sum2/n - mean*mean)
	t.Logf("mean %.1f, sd %.1f", mean, sd)
	if sd < 30 || mean < 40 || mean > 215 {
		t.Errorf("display looks blank or saturated: mean %.1f sd %.1f", mean, sd)
	}
	// Bone bright: both lung fields darker than the mediastinum/spine between them.
	rightLung := regionMean(img, 380, 500, 700, 1100)
	mediastinum := regionMean(img, 820, 500, 960, 1100)
	leftLung := regionMean(img, 1180, 500, 1480, 1100)
	t.Logf("right lung %.1f, mediastinum %.1f, left lung %.1f", rightLung, mediastinum, leftLung)
	if !(rightLung+40 < mediastinum && leftLung+40 < mediastinum) {
		t.Errorf("lungs not darker than the mediastinum: %.1f %.1f vs %.1f (inverted?)", rightLung, leftLung, mediastinum)
	}
	// Deterministic.
	again, err := pixels.Decode(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.Pix) != string(img.Pix) {
		t.Error("two decodes differ")
	}
}

// TestGoldenCR pins the CR's display image to the committed PNG made by
// `go run ./dicom/pixels/internal/mkgolden`.
func TestGoldenCR(t *testing.T) {
	img, err := pixels.Decode(testfiles.CR(t))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join("testdata", "cr_display.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	gold, ok := g.(*image.Gray)
	if !ok {
		t.Fatalf("golden is %T, want 8-bit gray", g)
	}
	if gold.Rect != img.Rect {
		t.Fatalf("golden %v, decoded %v", gold.Rect, img.Rect)
	}
	diff := 0
	for y := 0; y < img.Rect.Dy(); y++ {
		for x := 0; x < img.Rect.Dx(); x++ {
			if img.GrayAt(x, y) != gold.GrayAt(x, y) {
				diff++
			}
		}
	}
	if diff > 0 {
		t.Errorf("%d pixels differ from testdata/cr_display.png (regenerate only for an intended change)", diff)
	}
}

func regionMean(img *image.Gray, x0, y0, x1, y1 int) float64 {
	sum := 0
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			sum += int(img.GrayAt(x, y).Y)
		}
	}
	return float64(sum) / float64((x1-x0)*(y1-y0))
}

func BenchmarkDecodeCR(b *testing.B) {
	path := testfiles.CR(b)
	for b.Loop() {
		if _, err := pixels.Decode(path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDisplayCR(b *testing.B) {
	s, err := pixels.Open(testfiles.CR(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s.Display()
	}
}

func BenchmarkRenderPreviewCR(b *testing.B) {
	s, err := pixels.Open(testfiles.CR(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s.Render(pixels.RenderOptions{WindowCenter: 600, WindowWidth: 900, MaxSize: 1024})
	}
}

// TestOtherRealFiles: the module's other real files (PET, MR, multi-frame CT,
// deflated) decode to a non-blank first frame. The PET files' own windows
// (kept: the file's VOI wins) leave most of the body dark, so for them only
// "not blank" is checked.
func TestOtherRealFiles(t *testing.T) {
	td := filepath.Dir(testfiles.CR(t))
	for _, n := range []string{"1.dcm", "2.dcm", "3.dcm", "5.dcm", "6.dcm"} {
		img, err := pixels.Decode(filepath.Join(td, n))
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		lo, hi := uint8(255), uint8(0)
		for _, v := range img.Pix {
			lo, hi = min(lo, v), max(hi, v)
		}
		if want := map[bool]uint8{true: 10, false: 100}[n == "1.dcm" || n == "2.dcm"]; hi-lo < want {
			t.Errorf("%s: display range only %d..%d", n, lo, hi)
		}
	}
}

// TestMalformed: truncated or garbage files are errors, never panics.
func TestMalformed(t *testing.T) {
	data, err := os.ReadFile(testfiles.CR(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	inputs := map[string][]byte{
		"truncated_in_pixels.dcm": data[:len(data)/2],
		"truncated_in_header.dcm": data[:400],
		"garbage.dcm":             append(append([]byte{}, data[:132]...), bytes.Repeat([]byte{0xff}, 4000)...),
		"empty.dcm":               nil,
	}
	for name, b := range inputs {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := pixels.Decode(p); err == nil {
			t.Errorf("%s decoded without error", name)
		}
	}
}

// TestAgreesWithPydicom compares the display images of the real CR and the
// windowed/VOI LUT fixtures with pydicom's modality and VOI functions
// (internal/xcheck/pydicom_check.py), with Debian's python3-pydicom.
// mono2_u16_voilut.dcm is left out: its 8-bit LUT entries are stored one per
// 16-bit word (told apart by the data length, as DCMTK does), which pydicom
// 2.3 reads as packed bytes.
func TestAgreesWithPydicom(t *testing.T) {
	py := testpeers.RequirePython(t, "pydicom", "numpy", "PIL")
	files := []string{testfiles.CR(t)}
	for _, n := range []string{"mono2_u16_window.dcm", "mono1_u16_window.dcm", "mono2_u16_inverse.dcm",
		"mono2_s16_rescale.dcm", "mono2_u16_voilut16.dcm"} {
		files = append(files, filepath.Join("testdata", n))
	}
	dir := t.TempDir()
	args := []string{filepath.Join("internal", "xcheck", "pydicom_check.py")}
	for i, f := range files {
		img, err := pixels.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("%d.png", i))
		out, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(out, img); err != nil {
			t.Fatal(err)
		}
		out.Close()
		args = append(args, f, p)
	}
	out, err := exec.Command(py, args...).CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("pydicom disagrees: %v", err)
	}
}
