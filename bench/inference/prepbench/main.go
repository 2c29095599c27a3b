// Command prepbench times radraft's image preprocessing (8-bit display
// image → [3,518,518] float32 tensor) on one PNG and prints JSON; with -out
// it also writes the tensor (raw little-endian float32) for comparison.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"math"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/radraft/radraft/inference"
)

func main() {
	in := flag.String("image", "", "8-bit grayscale PNG")
	n := flag.Int("n", 50, "timed runs")
	out := flag.String("out", "", "write the tensor here")
	flag.Parse()
	f, err := os.Open(*in)
	if err != nil {
		fail(err)
	}
	im, err := png.Decode(f)
	f.Close()
	if err != nil {
		fail(err)
	}
	g, ok := im.(*image.Gray)
	if !ok {
		g = image.NewGray(image.Rect(0, 0, im.Bounds().Dx(), im.Bounds().Dy()))
		draw.Draw(g, g.Bounds(), im, im.Bounds().Min, draw.Src)
	}
	pp := inference.NewPreprocessor(inference.ImageParams{Size: 518, Mean: inference.CLIPMean, Std: inference.CLIPStd})
	var dst []float32
	dst, err = pp.Tensor(g, dst) // warm-up: plan and buffers
	if err != nil {
		fail(err)
	}
	times := make([]float64, *n)
	for i := range times {
		t := time.Now()
		dst, _ = pp.Tensor(g, dst)
		times[i] = float64(time.Since(t).Microseconds()) / 1000
	}
	slices.Sort(times)
	if *out != "" {
		b := make([]byte, 4*len(dst))
		for i, v := range dst {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			fail(err)
		}
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{ //nolint:errcheck
		"width": g.Bounds().Dx(), "height": g.Bounds().Dy(), "runs": *n, "gomaxprocs": runtime.GOMAXPROCS(0),
		"median_ms": times[len(times)/2], "min_ms": times[0], "times_ms": times,
	})
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "prepbench:", err)
	os.Exit(1)
}
