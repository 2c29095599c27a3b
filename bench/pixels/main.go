// Command pixels benchmarks dicom/pixels' decoding of the testdata CR
// (2140x1760, 10 of 16 bits) in every compressed transfer syntax against
// the command-line decoders of DCMTK (dcmdjpeg, dcmdjpls, dcmdrle, dcmconv)
// and GDCM (gdcmconv --raw), plus OpenJPEG's opj_decompress for HTJ2K (GDCM
// 3.0.21 has no HTJ2K), measured in the same run, interleaved run by run.
//
// Three numbers per syntax, medians over -runs:
//
//   - radraft in-process: pixels.Open (parse, decode to stored values), what
//     the draft worker and the viewer pay;
//   - radraft process: this binary started with -decode FILE OUT, which
//     decodes and writes the stored values to OUT: the same work as a peer's
//     command line (start-up, read, decode, write), for a fair ratio;
//   - each peer's command line decoding the same file to an uncompressed
//     file in the same directory.
//
// Usage (see README.md):
//
//	go run ./bench/pixels -runs 7
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/radraft/radraft/dicom/pixels"
)

// benchCases are the corpus cases of the CR, one per syntax.
var benchCases = []string{
	"jpeg-baseline-cr", "jpeg-extended-cr", "jpeg-lossless-sv6-cr", "jpeg-sv1-cr",
	"jpegls-lossless-cr", "jpegls-near-cr", "rle-cr", "j2k-lossless-crx", "j2k-lossy-crx",
	"htj2k-lossless-cr", "htj2k-lossy-cr", "deflated-cr",
}

func main() {
	decode := flag.Bool("decode", false, "decode FILE to the raw stored values in OUT and exit (the process measured)")
	corpus := flag.String("corpus", "", "corpus built by dicom/pixels/testdata/mkcorpus.sh (default: build one in a temporary directory)")
	runs := flag.Int("runs", 7, "runs of each measurement (medians reported)")
	flag.Parse()
	if *decode {
		if err := decodeToFile(flag.Arg(0), flag.Arg(1)); err != nil {
			fmt.Fprintln(os.Stderr, "decode:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*corpus, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// decodeToFile is the measured process: decode, then write the stored
// values (16-bit little endian) as a peer writes its uncompressed file.
func decodeToFile(in, out string) error {
	s, err := pixels.Open(in)
	if err != nil {
		return err
	}
	vals := s.StoredValues()
	b := make([]byte, 2*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return os.WriteFile(out, b, 0o644)
}

type peer struct {
	name string
	args func(corpus, name, out string) []string // nil: not applicable
}

func peers() []peer {
	dcmtk := func(corpus, name, out string) []string {
		file := filepath.Join(corpus, name+".dcm")
		switch {
		case strings.HasPrefix(name, "jpegls-"):
			return []string{"dcmdjpls", file, out}
		case strings.HasPrefix(name, "jpeg-"):
			return []string{"dcmdjpeg", file, out}
		case strings.HasPrefix(name, "rle-"):
			return []string{"dcmdrle", file, out}
		case strings.HasPrefix(name, "deflated-"):
			return []string{"dcmconv", "+te", file, out}
		}
		return nil // DCMTK's free toolkit has no JPEG 2000
	}
	gdcm := func(corpus, name, out string) []string {
		if strings.HasPrefix(name, "htj2k-") {
			return nil
		}
		return []string{"gdcmconv", "--raw", filepath.Join(corpus, name+".dcm"), out}
	}
	opj := func(corpus, name, out string) []string {
		if !strings.HasPrefix(name, "htj2k-") {
			return nil
		}
		return []string{"opj_decompress", "-quiet", "-i", filepath.Join(corpus, name+".j2c"), "-o", out + ".rawl"}
	}
	return []peer{{"DCMTK", dcmtk}, {"GDCM", gdcm}, {"opj_decompress", opj}}
}

func run(corpus string, runs int) error {
	if corpus == "" {
		dir, err := os.MkdirTemp("", "radraft-bench-pixels-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		corpus = filepath.Join(dir, "corpus")
		cmd := exec.Command("bash", "dicom/pixels/testdata/mkcorpus.sh", corpus)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("mkcorpus.sh (run from the repository root): %w", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	out, err := os.MkdirTemp("", "radraft-bench-pixels-out-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(out)
	ps := peers()
	// times[case][column]: column 0 in-process, 1 our process, 2.. peers.
	times := map[string][][]time.Duration{}
	for _, c := range benchCases {
		times[c] = make([][]time.Duration, 2+len(ps))
	}
	for r := 0; r < runs; r++ {
		for _, c := range benchCases {
			file := filepath.Join(corpus, c+".dcm")
			t := time.Now()
			if _, err := pixels.Open(file); err != nil {
				return fmt.Errorf("%s: %w", c, err)
			}
			times[c][0] = append(times[c][0], time.Since(t))
			d, err := timeCmd(self, "-decode", file, filepath.Join(out, "radraft.raw"))
			if err != nil {
				return fmt.Errorf("%s: radraft process: %w", c, err)
			}
			times[c][1] = append(times[c][1], d)
			for i, p := range ps {
				args := p.args(corpus, c, filepath.Join(out, "peer.dcm"))
				if args == nil {
					continue
				}
				d, err := timeCmd(args[0], args[1:]...)
				if err != nil {
					return fmt.Errorf("%s: %s: %w", c, p.name, err)
				}
				times[c][2+i] = append(times[c][2+i], d)
			}
		}
	}
	fmt.Printf("CR 2140x1760, 10 of 16 bits; medians of %d runs, ms; ratio = peer / radraft process (>1: radraft faster)\n\n", runs)
	fmt.Printf("| case | radraft in-process | radraft process |")
	for _, p := range ps {
		fmt.Printf(" %s | ratio |", p.name)
	}
	fmt.Printf("\n|---|---|---|%s\n", strings.Repeat("---|---|", len(ps)))
	for _, c := range benchCases {
		ours := median(times[c][1])
		fmt.Printf("| %s | %.1f | %.1f |", c, ms(median(times[c][0])), ms(ours))
		for i := range ps {
			if len(times[c][2+i]) == 0 {
				fmt.Printf(" n/a | |")
				continue
			}
			m := median(times[c][2+i])
			fmt.Printf(" %.1f | %.2f |", ms(m), float64(m)/float64(ours))
		}
		fmt.Println()
	}
	return nil
}

func timeCmd(name string, args ...string) (time.Duration, error) {
	cmd := exec.Command(name, args...)
	t := time.Now()
	outp, err := cmd.CombinedOutput()
	d := time.Since(t)
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, strings.TrimSpace(string(outp)))
	}
	return d, nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
