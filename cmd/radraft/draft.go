package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"

	"github.com/radraft/radraft/dicom/pixels"
	"github.com/radraft/radraft/inference"
)

// demoNotice is shown with every output of a demo bundle.
const demoNotice = "DEMO MODEL: untrained toy weights; this text is meaningless and must not be used clinically"

func runDraft(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("draft", flag.ContinueOnError)
	file := fs.String("dicom", "", "Part 10 file to draft")
	pngFile := fs.String("image", "", "or: an 8-bit grayscale PNG model input, used as is (skips DICOM decoding and the bundle's input rendering; `model render` makes one)")
	indication := fs.String("indication", "", "reason for the exam (empty: the no-indication prompt)")
	dir := fs.String("model", env("RADRAFT_MODEL_DIR", "./models/demo"), "model bundle (RADRAFT_MODEL_DIR)")
	lib := fs.String("ort-lib", os.Getenv("RADRAFT_ORT_LIB"), "libonnxruntime path (RADRAFT_ORT_LIB)")
	device := fs.String("device", env("RADRAFT_DEVICE", "cpu"), "cpu or cuda[:N] (RADRAFT_DEVICE)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*file == "") == (*pngFile == "") {
		return errors.New("give --dicom FILE (or --image PNG)")
	}
	m, err := openModel(ctx, *dir, *lib, *device)
	if err != nil {
		return err
	}
	defer m.Close()
	pipe, err := newPipeline(m)
	if err != nil {
		return err
	}
	var d *inference.Draft
	if *file != "" {
		d, err = pipe.Draft(ctx, *file, *indication)
	} else {
		var img *image.Gray
		if img, err = readPNG(*pngFile); err == nil {
			d, err = pipe.DraftImage(ctx, img, *indication)
		}
	}
	if err != nil {
		return err
	}
	out := map[string]any{
		"model":    map[string]any{"name": d.Model.Name, "version": d.Model.Version, "demo": d.Model.Demo, "device": d.Model.Device, "onnxruntime": d.Model.Runtime},
		"findings": d.Findings,
		"tokens":   d.Tokens,
		"stop":     d.Stop,
		"prompt":   d.Prompt,
		"timings":  d.Timings,
	}
	if d.Model.Demo {
		out["notice"] = demoNotice
		fmt.Fprintln(os.Stderr, "radraft draft: "+demoNotice)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

func readPNG(path string) (*image.Gray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if g, ok := im.(*image.Gray); ok && g.Rect.Min == (image.Point{}) {
		return g, nil
	}
	g := image.NewGray(image.Rect(0, 0, im.Bounds().Dx(), im.Bounds().Dy()))
	draw.Draw(g, g.Bounds(), im, im.Bounds().Min, draw.Src)
	return g, nil
}

// newPipeline joins a loaded model to the DICOM pixel decoder (with the
// bundle's input rendering) and its bundle's tokenizer and prompt.
func newPipeline(m *inference.Model) (*inference.Pipeline, error) {
	decode, err := inference.ModelInput(m.Manifest.InputRendering, pixels.Open)
	if err != nil {
		return nil, err
	}
	return inference.NewPipeline(m, decode)
}
