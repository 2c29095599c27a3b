package inference_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/radraft/radraft/internal/testpeers"
)

// The bundled demo model and its PyTorch references are fixtures: the
// committed generator must rebuild them byte for byte (fixed seeds, one
// thread), or the parity tests would compare against something nobody can
// make again.
func TestDemoModelIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("trains and exports the demo model (about 40 s of CPU)")
	}
	py := testpeers.RequirePython(t, "torch", "onnx", "sentencepiece", "PIL", "numpy")
	out := t.TempDir()
	cmd := exec.Command(py, "../deploy/demo-model/make_demo_model.py", "--out", out)
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make_demo_model.py: %v\n%s", err, log)
	}
	for _, f := range []string{"model.json", "vision.onnx", "embedding.onnx", "decoder.onnx", "tokenizer.model",
		"reference/cr_greedy.json", "reference/prompt_ids.json", "reference/cr_pixel_values.f32",
		"reference/prompts.json", "reference/images.json"} {
		want, err := os.ReadFile(filepath.Join("../models/demo", f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatalf("generator did not write %s: %v", f, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("models/demo/%s differs from what deploy/demo-model/make_demo_model.py makes now: regenerate and commit it", f)
		}
	}
}
