package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/radraft/radraft/dicom/pixels"
	"github.com/radraft/radraft/inference"
	"github.com/radraft/radraft/internal/testfiles"
)

func readGrayPNG(t *testing.T, path string) *image.Gray {
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
		t.Fatalf("%T, want 8-bit gray", img)
	}
	return g
}

// `model render` writes the bundle rendering's 8-bit image at the stored
// size: MIMIC-CXR-JPG by default, the display image on request.
func TestModelRender(t *testing.T) {
	cr := testfiles.CR(t)
	src, err := pixels.Open(cr)
	if err != nil {
		t.Fatal(err)
	}
	mimic, err := inference.RenderMIMICCXRJPG(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want *image.Gray
	}{{nil, mimic}, {[]string{"--rendering", "display"}, src.Display()}} {
		out := filepath.Join(t.TempDir(), "in.png")
		if err := runModelRender(append([]string{"--dicom", cr, "--out", out}, c.args...)); err != nil {
			t.Fatal(err)
		}
		got := readGrayPNG(t, out)
		if got.Bounds() != c.want.Bounds() || !bytes.Equal(got.Pix, c.want.Pix) {
			t.Errorf("%v: the PNG is not the rendering (%v vs %v)", c.args, got.Bounds(), c.want.Bounds())
		}
	}
	if err := runModelRender([]string{"--dicom", cr, "--out", filepath.Join(t.TempDir(), "x.png"), "--rendering", "jpeg"}); err == nil {
		t.Error("unknown rendering accepted")
	}
	if err := runModelRender([]string{"--dicom", cr}); err == nil {
		t.Error("missing --out accepted")
	}
}

// `model tokenize` prints BOS then the ids (the demo tokenizer's ids for this
// sentence are in inference/tokenizer/testdata/cases.json).
func TestModelTokenize(t *testing.T) {
	var out bytes.Buffer
	if err := runModelTokenize([]string{"--tokenizer", "../../models/demo/tokenizer.model", "The lungs are clear."}, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "[1,387,760,521,910,948]\n" {
		t.Errorf("got %q", got)
	}
	if err := runModelTokenize([]string{"--tokenizer", "../../models/demo/tokenizer.model"}, &out); err == nil {
		t.Error("no text accepted")
	}
}
