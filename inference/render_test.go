package inference_test

import (
	"encoding/json"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/radraft/radraft/dicom/pixels"
	"github.com/radraft/radraft/inference"
	"github.com/radraft/radraft/internal/testfiles"
	"github.com/radraft/radraft/internal/testpeers"
)

const mimicScript = "../deploy/export/mimic_cxr_jpg.py"

func renderMIMIC(t testing.TB, path string) *image.Gray {
	t.Helper()
	src, err := pixels.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := inference.RenderMIMICCXRJPG(src)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func readPNGGray(t *testing.T, path string) *image.Gray {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		t.Fatalf("%s: %T, want 8-bit gray", path, img)
	}
	return g
}

// compareGray fails unless got and want have one size and differ by at most
// one grey level on under 0.1 % of the pixels (rounding); it returns the
// number of differing pixels.
func compareGray(t *testing.T, name string, got, want *image.Gray) int {
	t.Helper()
	if got.Bounds() != want.Bounds() {
		t.Errorf("%s: size %v, Python %v", name, got.Bounds(), want.Bounds())
		return -1
	}
	diff, worst := 0, 0
	w, h := got.Bounds().Dx(), got.Bounds().Dy()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			d := int(got.Pix[y*got.Stride+x]) - int(want.Pix[y*want.Stride+x])
			if d != 0 {
				diff++
				worst = max(worst, d, -d)
			}
		}
	}
	if worst > 1 || float64(diff) >= 0.001*float64(w*h) {
		t.Errorf("%s: %d of %d pixels differ from Python (largest difference %d)", name, diff, w*h, worst)
	}
	return diff
}

// The Go rendering equals the published Python function (pydicom + numpy +
// OpenCV, deploy/export/mimic_cxr_jpg.py) on the real CR and on synthetic
// 8/12/16-bit, signed and unsigned, MONOCHROME1/2 images written by pydicom.
func TestMIMICRenderingMatchesPython(t *testing.T) {
	py := testpeers.RequirePython(t, "pydicom", "numpy", "cv2")
	dir := t.TempDir()
	cr := testfiles.CR(t)
	crPNG := filepath.Join(dir, "cr.png")
	if out, err := exec.Command(py, mimicScript, "render", cr, crPNG).CombinedOutput(); err != nil {
		t.Fatalf("mimic_cxr_jpg.py render: %v\n%s", err, out)
	}
	out, err := exec.Command(py, mimicScript, "synthetic", dir).Output()
	if err != nil {
		t.Fatalf("mimic_cxr_jpg.py synthetic: %v", err)
	}
	var names []string
	if err := json.Unmarshal(out, &names); err != nil || len(names) < 14 {
		t.Fatalf("synthetic cases: %v %q", err, out)
	}
	got := renderMIMIC(t, cr)
	if d := compareGray(t, "testdata CR", got, readPNGGray(t, crPNG)); d != 0 {
		t.Logf("testdata CR: %d pixels differ by one grey level", d)
	}
	display, err := pixels.Decode(cr)
	if err != nil {
		t.Fatal(err)
	}
	// The model input is not the display image (they differ by ~20 grey
	// levels on average): a rendering mix-up would not pass unnoticed.
	m := meanAbsDiff(got, display)
	if m < 5 {
		t.Errorf("MIMIC rendering is within %.1f grey levels of the display rendering", m)
	}
	t.Logf("testdata CR: MIMIC-CXR-JPG vs display rendering: mean |difference| %.1f grey levels", m)
	for _, n := range names {
		g := renderMIMIC(t, filepath.Join(dir, n+".dcm"))
		compareGray(t, n, g, readPNGGray(t, filepath.Join(dir, n+".png")))
	}
}

func meanAbsDiff(a, b *image.Gray) float64 {
	s := 0
	for i, v := range a.Pix {
		d := int(v) - int(b.Pix[i])
		s += max(d, -d)
	}
	return float64(s) / float64(len(a.Pix))
}

// BenchmarkRenderMIMICCR is the file-to-model-input time on the real CR
// (decode + rendering).
// bench/inference/mimic.sh (bench/inference/mimicbench) compares it with the
// Python function.
func BenchmarkRenderMIMICCR(b *testing.B) {
	cr := testfiles.CR(b)
	for i := 0; i < b.N; i++ {
		renderMIMIC(b, cr)
	}
}
