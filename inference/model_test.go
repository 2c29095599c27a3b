package inference

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// initORT loads the runtime named by RADRAFT_ORT_LIB (scripts/test.sh sets it).
func initORT(t testing.TB) {
	t.Helper()
	lib := os.Getenv("RADRAFT_ORT_LIB")
	if lib == "" {
		t.Fatal("RADRAFT_ORT_LIB is not set (run through scripts/test.sh, or export RADRAFT_ORT_LIB=$(scripts/fetch-onnxruntime.sh))")
	}
	if _, err := InitRuntime(lib); err != nil {
		t.Fatal(err)
	}
}

type tinyRef struct {
	Pixels []float32 `json:"pixels"`
	Before []int64   `json:"before"`
	After  []int64   `json:"after"`
	Tokens []int64   `json:"tokens"`
}

func readTinyRef(t testing.TB) tinyRef {
	b, err := os.ReadFile("testdata/tiny/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var r tinyRef
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// The KV-cache loop gives PyTorch's greedy tokens (recomputed without a
// cache) on the tiny test bundle, and does so again on a second run that
// reuses the buffers.
func TestGenerateMatchesPyTorchTiny(t *testing.T) {
	initORT(t)
	m, err := Load("testdata/tiny", DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ref := readTinyRef(t)
	for run := 0; run < 2; run++ {
		g, err := m.Generate(context.Background(), ref.Pixels, ref.Before, ref.After, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !equalIDs(g.Tokens, ref.Tokens) {
			t.Fatalf("run %d: tokens %v, PyTorch %v", run, g.Tokens, ref.Tokens)
		}
		if g.Timings.Tokens != len(ref.Tokens) || g.Timings.PromptTokens != len(ref.Before)+4+len(ref.After) {
			t.Fatalf("timings %+v", g.Timings)
		}
	}
	// A shorter limit stops early.
	g, err := m.Generate(context.Background(), ref.Pixels, ref.Before, ref.After, 3)
	if err != nil {
		t.Fatal(err)
	}
	if g.Stop != "max_new_tokens" || !equalIDs(g.Tokens, ref.Tokens[:3]) {
		t.Fatalf("limit 3: %v %s", g.Tokens, g.Stop)
	}
	// A cancelled context stops it.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Generate(ctx, ref.Pixels, ref.Before, ref.After, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// copyBundle copies the tiny bundle so a test can break it.
func copyBundle(t *testing.T, edit func(m map[string]any)) string {
	dir := t.TempDir()
	for _, f := range []string{"vision.onnx", "embedding.onnx", "decoder.onnx", "tokenizer.model", "model.json"} {
		b, err := os.ReadFile(filepath.Join("testdata/tiny", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "model.json" && edit != nil {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			edit(m)
			b, _ = json.Marshal(m)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sub(m map[string]any, k string) map[string]any { return m[k].(map[string]any) }

func TestLoadValidation(t *testing.T) {
	initORT(t)
	cases := []struct {
		name string
		edit func(m map[string]any)
		rm   string
		want string
	}{
		{"missing decoder", nil, "decoder.onnx", "file decoder.onnx"},
		{"missing model.json", nil, "model.json", "model.json"},
		{"layers", func(m map[string]any) { sub(m, "decoder")["num_layers"] = 3 }, "", "2 layers of past_key_values, model.json says decoder.num_layers 3"},
		{"hidden", func(m map[string]any) { sub(m, "decoder")["hidden_size"] = 48 }, "", "image_features"},
		{"image tokens", func(m map[string]any) { sub(m, "image")["token_count"] = 1369 }, "", "expecting image_features [1 1369 32] as model.json says"},
		{"kv heads", func(m map[string]any) { sub(m, "decoder")["num_kv_heads"] = 4 }, "", "past_key_values.0.key"},
		{"vocab", func(m map[string]any) { sub(m, "decoder")["vocab_size"] = 32000 }, "", "logits"},
		{"no name", func(m map[string]any) { delete(m, "name") }, "", "name is missing"},
		{"schema 3", func(m map[string]any) { m["schema_version"] = 3 }, "", "schema_version 3: this radraft reads 1 to 2"},
		{"no schema", func(m map[string]any) { delete(m, "schema_version") }, "", "schema_version 0"},
		{"v2 without rendering", func(m map[string]any) { m["schema_version"] = 2 }, "", "input_rendering is missing"},
		{"v1 with rendering", func(m map[string]any) { m["input_rendering"] = "display" }, "", "need schema_version 2"},
		{"unknown rendering", func(m map[string]any) { m["schema_version"], m["input_rendering"] = 2, "jpeg" }, "", `input rendering "jpeg" is not one of`},
		{"missing references", func(m map[string]any) {
			m["schema_version"], m["input_rendering"], m["references"] = 2, "mimic-cxr-jpg", "refs"
		}, "", "references refs is not a folder"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyBundle(t, c.edit)
			if c.rm != "" {
				os.Remove(filepath.Join(dir, c.rm))
			}
			m, err := Load(dir, DeviceOptions{})
			if err == nil {
				m.Close()
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestParseDevice(t *testing.T) {
	for in, want := range map[string]DeviceOptions{"cpu": {}, "": {}, "cuda": {CUDA: true}, "cuda:1": {CUDA: true, DeviceID: 1}} {
		got, err := ParseDevice(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v", in, got, err)
		}
	}
	for _, in := range []string{"gpu", "cuda:x", "cuda:-1"} {
		if _, err := ParseDevice(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestF16RoundTrip(t *testing.T) {
	for _, f := range []float32{0, 1, -2.5, 65504, 6.1035156e-05, 5.9604645e-08, 0.333251953125} {
		if g := f16ToF32(f32ToF16(f)); g != f {
			t.Errorf("%v → %v", f, g)
		}
	}
}

// decoder.context_length caps generation; a prompt that does not fit is a
// model error.
func TestContextLength(t *testing.T) {
	initORT(t)
	ref := readTinyRef(t)
	for _, c := range []struct {
		ctxLen int
		want   int
	}{{15, 3}, {12, -1}} {
		dir := copyBundle(t, func(m map[string]any) { sub(m, "decoder")["context_length"] = c.ctxLen })
		m, err := Load(dir, DeviceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		g, err := m.Generate(context.Background(), ref.Pixels, ref.Before, ref.After, 0)
		m.Close()
		if c.want < 0 {
			if !errors.Is(err, ErrModel) {
				t.Fatalf("context %d: %v", c.ctxLen, err)
			}
			continue
		}
		if err != nil || !equalIDs(g.Tokens, ref.Tokens[:c.want]) {
			t.Fatalf("context %d: %v %v", c.ctxLen, g, err)
		}
	}
}

// A float16 bundle (tiny16: the tiny graphs behind float16 interfaces, as an
// fp16 CUDA export looks from outside): pixels converted to float16, the
// cache and embeddings kept in float16, argmax over float16 logits. Its
// greedy tokens equal the float32 reference (the toy's top-1 margins are far
// wider than float16 rounding).
func TestGenerateFloat16Bundle(t *testing.T) {
	initORT(t)
	m, err := Load("testdata/tiny16", DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Info().KVType != "ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16" {
		t.Fatalf("kv type %s", m.Info().KVType)
	}
	ref := readTinyRef(t)
	g, err := m.Generate(context.Background(), ref.Pixels, ref.Before, ref.After, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !equalIDs(g.Tokens, ref.Tokens) {
		t.Fatalf("fp16 tokens %v, fp32 reference %v", g.Tokens, ref.Tokens)
	}
}
