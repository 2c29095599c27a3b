package inference

import (
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func readGray(t testing.TB, path string) *image.Gray {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if g, ok := im.(*image.Gray); ok {
		return g
	}
	g := image.NewGray(im.Bounds())
	draw.Draw(g, g.Bounds(), im, im.Bounds().Min, draw.Src)
	return g
}

// The resampling equals PIL's BICUBIC resize + centre crop pixel for pixel
// (fixtures from testdata/pil/make.py: downscale with antialiasing, upscale,
// one side already 518, odd crop offsets).
func TestResizeMatchesPIL(t *testing.T) {
	pp := NewPreprocessor(ImageParams{Size: 518, Mean: CLIPMean, Std: CLIPStd})
	for _, wh := range [][2]int{{1203, 1001}, {400, 300}, {518, 800}, {519, 1301}} {
		name := fmt.Sprintf("%dx%d", wh[0], wh[1])
		t.Run(name, func(t *testing.T) {
			in := readGray(t, filepath.Join("testdata/pil", "in_"+name+".png"))
			want := readGray(t, filepath.Join("testdata/pil", "want_"+name+".png"))
			got, err := pp.Resize8(in)
			if err != nil {
				t.Fatal(err)
			}
			diff := 0
			for i := range got {
				if got[i] != want.Pix[i] {
					diff++
				}
			}
			if diff != 0 {
				t.Fatalf("%d of %d pixels differ from PIL", diff, len(got))
			}
		})
	}
}

func TestTensorNormalisation(t *testing.T) {
	pp := NewPreprocessor(ImageParams{Size: 4, Mean: CLIPMean, Std: CLIPStd})
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 16)
	}
	got, err := pp.Tensor(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3*16 {
		t.Fatalf("len %d", len(got))
	}
	for c := 0; c < 3; c++ {
		for i := 0; i < 16; i++ {
			want := (float32(i*16)/255 - CLIPMean[c]) / CLIPStd[c]
			if got[c*16+i] != want {
				t.Fatalf("c%d i%d: %v, want %v", c, i, got[c*16+i], want)
			}
		}
	}
}

func BenchmarkPreprocess(b *testing.B) {
	in := readGray(b, "testdata/pil/in_1203x1001.png")
	pp := NewPreprocessor(ImageParams{Size: 518, Mean: CLIPMean, Std: CLIPStd})
	var dst []float32
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = pp.Tensor(in, dst)
	}
}
