// Command mimicbench times the MIMIC-CXR-JPG model input of one DICOM file
// (read, decode with dicom/pixels, inference.RenderMIMICCXRJPG) and prints
// JSON: wall and CPU seconds per run (CPU from getrusage, so a loaded
// machine's waiting is told apart from work). With -out it writes the image
// as PNG, for comparison with the Python function.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"os"
	"syscall"
	"time"

	"github.com/radraft/radraft/dicom/pixels"
	"github.com/radraft/radraft/inference"
)

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func render(path string) error {
	src, err := pixels.Open(path)
	if err != nil {
		return err
	}
	_, err = inference.RenderMIMICCXRJPG(src)
	return err
}

func main() {
	in := flag.String("dicom", "", "Part 10 file")
	n := flag.Int("n", 10, "timed runs")
	out := flag.String("out", "", "write the rendered image here (PNG)")
	flag.Parse()
	if *out != "" {
		src, err := pixels.Open(*in)
		if err != nil {
			fail(err)
		}
		img, err := inference.RenderMIMICCXRJPG(src)
		if err != nil {
			fail(err)
		}
		f, err := os.Create(*out)
		if err != nil {
			fail(err)
		}
		if err := png.Encode(f, img); err != nil {
			fail(err)
		}
		f.Close()
	}
	wall, cpu := make([]float64, *n), make([]float64, *n)
	for i := range wall {
		t, c := time.Now(), cpuSeconds()
		if err := render(*in); err != nil {
			fail(err)
		}
		wall[i], cpu[i] = time.Since(t).Seconds(), cpuSeconds()-c
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{"times_s": wall, "cpu_s": cpu})
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mimicbench:", err)
	os.Exit(1)
}
