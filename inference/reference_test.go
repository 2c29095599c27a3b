package inference_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/radraft/radraft/dicom/pixels"
	"github.com/radraft/radraft/inference"
	"github.com/radraft/radraft/internal/testfiles"
	"github.com/radraft/radraft/internal/testpeers"
	"github.com/radraft/radraft/internal/testserve"
)

func initRuntime(t testing.TB) {
	t.Helper()
	lib := os.Getenv("RADRAFT_ORT_LIB")
	if lib == "" {
		t.Fatal("RADRAFT_ORT_LIB is not set (run through scripts/test.sh)")
	}
	if _, err := inference.InitRuntime(lib); err != nil {
		t.Fatal(err)
	}
}

// checkBundleReferences is `radraft model check --reference` on a bundle.
func checkBundleReferences(t *testing.T, dir string, o inference.ReferenceOptions) *inference.ReferenceReport {
	t.Helper()
	m, err := inference.Load(dir, inference.DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	decode, err := inference.ModelInput(m.Manifest.InputRendering, pixels.Open)
	if err != nil {
		t.Fatal(err)
	}
	p, err := inference.NewPipeline(m, decode)
	if err != nil {
		t.Fatal(err)
	}
	o.Decode = decode
	rep, err := p.CheckReferences(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func requireAllPass(t *testing.T, rep *inference.ReferenceReport, minChecks int) {
	t.Helper()
	for _, c := range rep.Checks {
		if !c.OK {
			t.Errorf("%s: %s", c.Name, c.Detail)
		}
	}
	if len(rep.Checks) < minChecks {
		t.Errorf("%d checks, want at least %d", len(rep.Checks), minChecks)
	}
	if rep.Failed != 0 {
		t.Errorf("%d checks failed", rep.Failed)
	}
}

// The bundled demo model's references (written by its generator with the
// Python reference code: prompt ids for ~50 indications, the testdata CR
// rendered as MIMIC-CXR-JPG, its tensor, features and greedy tokens) pass
// through the Go pipeline, and a tampered copy fails.
func TestDemoReferences(t *testing.T) {
	initRuntime(t)
	td, err := testfiles.DicomModuleTestdata()
	if err != nil {
		t.Fatal(err)
	}
	rep := checkBundleReferences(t, "../models/demo", inference.ReferenceOptions{DICOMDir: td})
	requireAllPass(t, rep, 55)

	// Tamper: one prompt id and one greedy token in a copy of the references.
	dir := t.TempDir()
	src := "../models/demo/reference"
	for _, f := range []string{"prompts.json", "images.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		c0 := doc["cases"].([]any)[0].(map[string]any)
		if f == "prompts.json" {
			ids := c0["input_ids"].([]any)
			ids[len(ids)-1] = ids[len(ids)-1].(float64) + 1
		} else {
			g := c0["generations"].([]any)[0].(map[string]any)
			ids := g["ids"].([]any)
			ids[2] = ids[2].(float64) + 1
		}
		b, _ = json.Marshal(doc)
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep = checkBundleReferences(t, "../models/demo", inference.ReferenceOptions{Dir: dir, DICOMDir: td})
	if rep.Failed != 2 {
		t.Fatalf("tampered references: %d failures, want 2 (%+v)", rep.Failed, rep.Checks)
	}
	for _, c := range rep.Checks {
		if !c.OK && strings.Contains(c.Name, "greedy") && !strings.Contains(c.Detail, "first difference at token 2") {
			t.Errorf("greedy failure does not say where: %s", c.Detail)
		}
	}
}

// The export code, run on a toy model (deploy/export/toy_export.py: the
// fused-attention switch, dummy inputs on the module's device, the prompt
// check against conv_templates["v1"]'s semantics and the Go tokenizer of
// this checkout's radraft, the generate() slice, the symbolic KV check), writes a bundle whose references the Go pipeline
// reproduces; so does its int8 decoder (the CPU recipe).
func TestToyExport(t *testing.T) {
	if testing.Short() {
		t.Skip("exports a toy model (about a minute of CPU)")
	}
	initRuntime(t)
	py := testpeers.RequirePython(t, "torch", "onnx", "sentencepiece", "PIL", "numpy", "pydicom", "cv2")
	out, int8 := filepath.Join(t.TempDir(), "toy"), filepath.Join(t.TempDir(), "toy-int8")
	cmd := exec.Command(py, "../deploy/export/toy_export.py", out, "--int8", int8, "--dicom", testfiles.CR(t),
		"--radraft", testserve.Binary(t))
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("toy_export.py: %v\n%s", err, log)
	}
	for _, dir := range []string{out, int8} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			requireAllPass(t, checkBundleReferences(t, dir, inference.ReferenceOptions{}), 55)
		})
	}
}
