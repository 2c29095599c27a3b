// Command mkgolden writes dicom/pixels/testdata/cr_display.png: the default
// 8-bit display image (pixels.Decode) of the real chest CR in
// suyashkumar/dicom v1.1.0's testdata/4.dcm. TestGoldenCR checks that
// decoding still gives exactly these pixels; the inference preprocessing
// reference starts from this PNG.
//
//	go run ./dicom/pixels/internal/mkgolden [OUT.png]
//
// (OUT defaults to dicom/pixels/testdata/cr_display.png, relative to the
// repository root.) The PNG is 8-bit grayscale, 1760x2140, no gamma chunk.
package main

import (
	"image/png"
	"log"
	"os"
	"path/filepath"

	"github.com/radraft/radraft/dicom/pixels"
	"github.com/radraft/radraft/internal/testfiles"
)

func main() {
	out := "dicom/pixels/testdata/cr_display.png"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	td, err := testfiles.DicomModuleTestdata()
	if err != nil {
		log.Fatal(err)
	}
	img, err := pixels.Decode(filepath.Join(td, "4.dcm"))
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Create(out)
	if err != nil {
		log.Fatal(err)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s (%dx%d)", out, img.Rect.Dx(), img.Rect.Dy())
}
