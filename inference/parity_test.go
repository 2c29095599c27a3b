package inference

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

const demoDir = "../models/demo"

// crGreedy is models/demo/reference/cr_greedy.json (recorded by PyTorch in
// deploy/demo-model/make_demo_model.py).
type crGreedy struct {
	Image           string `json:"image"`
	PixelValuesFile string `json:"pixel_values_file"`
	Cases           []struct {
		Indication    *string   `json:"indication"`
		PromptChunks  [][]int64 `json:"prompt_chunks"`
		PrefillLength int       `json:"prefill_length"`
		IDs           []int64   `json:"ids"`
		StoppedByEOS  bool      `json:"stopped_by_eos"`
		Text          string    `json:"text"`
	} `json:"cases"`
}

func readCRGreedy(t testing.TB) (*crGreedy, []float32) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(demoDir, "reference", "cr_greedy.json"))
	if err != nil {
		t.Fatalf("PyTorch reference (deploy/demo-model/make_demo_model.py writes it): %v", err)
	}
	var ref crGreedy
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(demoDir, "reference", ref.PixelValuesFile))
	if err != nil {
		t.Fatal(err)
	}
	px := make([]float32, len(raw)/4)
	for i := range px {
		px[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return &ref, px
}

// The Go preprocessing of the testdata CR's display image equals the Python
// reference tensor (PIL bicubic + numpy). Tolerance: exact (0 ulp); the
// resampling is PIL's integer arithmetic and the normalisation the same
// float32 operations, so any difference is a bug.
func TestPreprocessMatchesPythonReference(t *testing.T) {
	ref, want := readCRGreedy(t)
	img := readGray(t, filepath.Join("..", ref.Image))
	pp := NewPreprocessor(ImageParams{Size: 518, Mean: CLIPMean, Std: CLIPStd})
	got, err := pp.Tensor(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d values, reference %d", len(got), len(want))
	}
	maxDiff, n := 0.0, 0
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > 0 {
			n++
			maxDiff = max(maxDiff, d)
		}
	}
	if n > 0 {
		t.Fatalf("%d of %d values differ from the Python reference, max |Δ| %g", n, len(got), maxDiff)
	}
}

// Go's KV-cache greedy loop on ONNX Runtime gives PyTorch's tokens for the
// testdata CR, with and without an indication, fed with the reference's own
// pixel tensor and prompt chunks (the Go prompt and tokenizer are checked
// against the same reference in the pipeline test).
func TestGreedyMatchesPyTorch(t *testing.T) {
	initORT(t)
	ref, px := readCRGreedy(t)
	m, err := Load(demoDir, DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if len(ref.Cases) < 2 {
		t.Fatalf("reference has %d cases, want with and without an indication", len(ref.Cases))
	}
	for _, c := range ref.Cases {
		name := "no indication"
		if c.Indication != nil && *c.Indication != "" {
			name = *c.Indication
		}
		t.Run(name, func(t *testing.T) {
			g, err := m.Generate(context.Background(), px, c.PromptChunks[0], c.PromptChunks[1], 0)
			if err != nil {
				t.Fatal(err)
			}
			if g.Timings.PromptTokens != c.PrefillLength {
				t.Errorf("prefill %d positions, PyTorch %d", g.Timings.PromptTokens, c.PrefillLength)
			}
			if !equalIDs(g.Tokens, c.IDs) {
				t.Fatalf("tokens differ from PyTorch\n go:    %v\n torch: %v", g.Tokens, c.IDs)
			}
			if (g.Stop == "eos") != c.StoppedByEOS {
				t.Fatalf("stop %s, PyTorch stopped_by_eos %v", g.Stop, c.StoppedByEOS)
			}
		})
	}
}

// The whole Go path from the display image (Go preprocessing, Go prompt and
// tokenizer, ONNX Runtime, greedy loop, detokenizer) gives PyTorch's prompt
// ids, tokens and text on the testdata CR, with and without an indication.
func TestPipelineMatchesPyTorch(t *testing.T) {
	initORT(t)
	ref, _ := readCRGreedy(t)
	m, err := Load(demoDir, DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p, err := NewPipeline(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	img := readGray(t, filepath.Join("..", ref.Image))
	for _, c := range ref.Cases {
		ind := ""
		if c.Indication != nil {
			ind = *c.Indication
		}
		t.Run("indication="+ind, func(t *testing.T) {
			_, before, after, err := p.Prompt.Encode(ind)
			if err != nil {
				t.Fatal(err)
			}
			if !equalIDs(before, c.PromptChunks[0]) || !equalIDs(after, c.PromptChunks[1]) {
				t.Fatalf("prompt ids differ from Python\n go:     %v | %v\n python: %v | %v", before, after, c.PromptChunks[0], c.PromptChunks[1])
			}
			d, err := p.DraftImage(context.Background(), img, ind)
			if err != nil {
				t.Fatal(err)
			}
			if !equalIDs(d.Tokens, c.IDs) {
				t.Fatalf("tokens differ from PyTorch\n go:    %v\n torch: %v", d.Tokens, c.IDs)
			}
			if d.Findings != c.Text {
				t.Fatalf("text %q, PyTorch %q", d.Findings, c.Text)
			}
		})
	}
}
