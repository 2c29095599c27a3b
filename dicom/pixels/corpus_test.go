package pixels

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/radraft/radraft/internal/testpeers"
)

// corpusCase is one line of the manifest mkcorpus.sh writes.
type corpusCase struct {
	name, ts, file, ref, refKind string
	// tolerance is the largest difference allowed (0: pixel-exact).
	tolerance int32
}

var (
	corpusOnce sync.Once
	corpusDir  string
	corpusErr  string
	corpusList []corpusCase
)

// buildCorpus runs testdata/mkcorpus.sh once per test binary into a
// temporary directory and returns its cases.
func buildCorpus(t testing.TB) (string, []corpusCase) {
	t.Helper()
	for _, p := range []string{"dcmcjpeg", "dcmdjpeg", "dcmcjpls", "dcmdjpls", "dcmcrle", "dcmdrle", "dcmconv",
		"gdcmconv", "ojph_compress", "ojph_expand", "opj_decompress"} {
		testpeers.Require(t, p)
	}
	corpusOnce.Do(func() {
		dir, err := os.MkdirTemp("", "radraft-pixels-corpus-")
		if err != nil {
			corpusErr = err.Error()
			return
		}
		corpusDir = dir
		bin := filepath.Join(dir, "mkfixtures")
		if out, err := exec.Command("go", "build", "-o", bin, "./internal/mkfixtures").CombinedOutput(); err != nil {
			corpusErr = "build mkfixtures: " + err.Error() + ": " + string(out)
			return
		}
		cmd := exec.Command("bash", "testdata/mkcorpus.sh", filepath.Join(dir, "corpus"))
		cmd.Env = append(os.Environ(), "MKFIXTURES="+bin)
		if out, err := cmd.CombinedOutput(); err != nil {
			corpusErr = "mkcorpus.sh: " + err.Error() + ": " + lastLines(string(out), 10)
			return
		}
		f, err := os.Open(filepath.Join(dir, "corpus", "manifest.tsv"))
		if err != nil {
			corpusErr = err.Error()
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			p := strings.Split(sc.Text(), "\t")
			if len(p) == 6 {
				tol, _ := strconv.Atoi(p[5])
				corpusList = append(corpusList, corpusCase{p[0], p[1], p[2], p[3], p[4], int32(tol)})
			}
		}
	})
	if corpusErr != "" {
		t.Fatal(corpusErr)
	}
	return filepath.Join(corpusDir, "corpus"), corpusList
}

func TestMain(m *testing.M) {
	code := m.Run()
	if corpusDir != "" {
		os.RemoveAll(corpusDir)
	}
	os.Exit(code)
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// rawValues reads samples as mkfixtures -raw / ojph_expand write them.
func rawValues(b []byte, bytesPer, bitsStored int, signed bool) []int32 {
	n := len(b) / bytesPer
	out := make([]int32, n)
	mask := int32(1)<<bitsStored - 1
	for i := range out {
		v := int32(b[i])
		if bytesPer == 2 {
			v = int32(binary.LittleEndian.Uint16(b[2*i:]))
		}
		v &= mask
		if signed && v >= 1<<(bitsStored-1) {
			v -= 1 << bitsStored
		}
		out[i] = v
	}
	return out
}

// TestCorpusPixelExact decodes every corpus file and compares each stored
// value with the reference decoder's output for the same file.
func TestCorpusPixelExact(t *testing.T) {
	dir, cases := buildCorpus(t)
	if len(cases) < 70 {
		t.Fatalf("corpus has %d cases, want at least 70", len(cases))
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.ts] = true
		t.Run(c.name, func(t *testing.T) {
			got, err := Open(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if got.TransferSyntaxUID != c.ts {
				t.Fatalf("transfer syntax %s, want %s", got.TransferSyntaxUID, c.ts)
			}
			var want []int32
			switch c.refKind {
			case "dicom":
				ref, err := Open(filepath.Join(dir, c.ref))
				if err != nil {
					t.Fatalf("reference: %v", err)
				}
				if ref.Rows != got.Rows || ref.Cols != got.Cols || ref.Invert != got.Invert {
					t.Fatalf("decoded %dx%d invert %v, reference %dx%d invert %v", got.Cols, got.Rows, got.Invert,
						ref.Cols, ref.Rows, ref.Invert)
				}
				want = ref.StoredValues()
			case "raw":
				b, err := os.ReadFile(filepath.Join(dir, c.ref))
				if err != nil {
					t.Fatal(err)
				}
				bytesPer := len(b) / (got.Rows * got.Cols)
				want = rawValues(b, bytesPer, got.bitsStored, got.signed)
			default:
				t.Fatalf("unknown reference kind %q", c.refKind)
			}
			vals := got.StoredValues()
			if len(vals) != len(want) {
				t.Fatalf("%d values, reference has %d", len(vals), len(want))
			}
			diff, first := 0, -1
			for i := range vals {
				if d := vals[i] - want[i]; d > c.tolerance || -d > c.tolerance {
					if first < 0 {
						first = i
					}
					diff++
				}
			}
			if diff > 0 {
				t.Fatalf("%d of %d values differ from the reference by more than %d; first at (%d,%d): %d, reference %d",
					diff, len(vals), c.tolerance, first%got.Cols, first/got.Cols, vals[first], want[first])
			}
		})
	}
	for _, ts := range []string{JPEGBaseline, JPEGExtended, JPEGLosslessP14, JPEGLosslessSV1, JPEGLSLossless,
		JPEGLSNearLossless, JPEG2000Lossless, JPEG2000, HTJ2KLossless, HTJ2KLosslessRPCL, HTJ2K, RLELossless,
		"1.2.840.10008.1.2.1.99"} {
		if !seen[ts] {
			t.Errorf("no corpus case in %s", ts)
		}
	}
}

// TestCorpusDamaged feeds every codec damaged streams (the file cut in half,
// bytes of the compressed data overwritten): each must come back as a
// result or an error, never a crash of the process.
func TestCorpusDamaged(t *testing.T) {
	dir, cases := buildCorpus(t)
	for _, c := range cases {
		if c.tolerance != 0 {
			continue // the same file as another case
		}
		b, err := os.ReadFile(filepath.Join(dir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		cut := b[:len(b)/2]
		if _, err := Read(bytes.NewReader(cut), int64(len(cut))); err == nil {
			t.Errorf("%s cut in half: no error", c.name)
		}
		for _, at := range []float64{0.9, 0.97, 0.995} {
			d := append([]byte(nil), b...)
			i := int(float64(len(d)) * at)
			for j := i; j < i+16 && j < len(d); j++ {
				d[j] ^= 0xA5
			}
			// Decoding may succeed (a lossless codec turns damage into
			// wrong values) or fail; it must return.
			_, _ = Read(bytes.NewReader(d), int64(len(d)))
		}
	}
}
