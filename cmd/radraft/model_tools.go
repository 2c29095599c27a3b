package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"os"
	"strings"

	"github.com/radraft/radraft/dicom/pixels"
	"github.com/radraft/radraft/inference"
	"github.com/radraft/radraft/inference/tokenizer"
)

// runModelRender writes the 8-bit image a DICOM file becomes before the
// model's resize and crop, at the stored size, with a rendering (default
// the MIMIC-CXR-JPG one LLaVA-Rad was trained on).
func runModelRender(args []string) error {
	fs := flag.NewFlagSet("model render", flag.ContinueOnError)
	file := fs.String("dicom", "", "Part 10 file to render")
	out := fs.String("out", "", "PNG to write")
	rendering := fs.String("rendering", inference.RenderingMIMICCXRJPG, "input rendering: "+strings.Join(inference.Renderings, " or "))
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || *out == "" || fs.NArg() > 0 {
		return errors.New("usage: radraft model render --dicom FILE --out FILE.png [--rendering NAME]")
	}
	decode, err := inference.ModelInput(*rendering, pixels.Open)
	if err != nil {
		return err
	}
	img, err := decode(*file)
	if err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runModelTokenize prints the ids a SentencePiece model gives a text: BOS
// first, as the prompt's first chunk starts.
func runModelTokenize(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("model tokenize", flag.ContinueOnError)
	path := fs.String("tokenizer", "", "tokenizer.model (SentencePiece)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() != 1 {
		return errors.New("usage: radraft model tokenize --tokenizer FILE TEXT")
	}
	tok, err := tokenizer.Load(*path)
	if err != nil {
		return err
	}
	ids := append([]int64{tok.BOS()}, tok.Encode(fs.Arg(0))...)
	b, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
