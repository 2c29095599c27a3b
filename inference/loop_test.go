package inference

import (
	"context"
	"errors"
	"testing"
)

// The IoBinding loop (the CUDA path, here on the CPU provider over host
// memory) gives tokens identical to the Run loop: on the demo model for the
// CR fixture's two prompts, 64 tokens past EOS; on tiny (fp32) and tiny16
// (fp16 interfaces); twice in a row on one model, so reused device blocks
// and a grown KV cache are covered. Both also match PyTorch where a
// reference exists.
func TestBindingLoopMatchesRunLoop(t *testing.T) {
	initORT(t)
	ref, px := readCRGreedy(t)
	tiny := readTinyRef(t)
	type input struct {
		name          string
		px            []float32
		before, after []int64
		want          []int64 // PyTorch's, when generation stops where PyTorch's did
	}
	cases := []struct {
		dir    string
		inputs []input
		opts   GenOptions
	}{
		{demoDir, []input{
			{"no indication", px, ref.Cases[0].PromptChunks[0], ref.Cases[0].PromptChunks[1], nil},
			{"indication", px, ref.Cases[1].PromptChunks[0], ref.Cases[1].PromptChunks[1], nil},
		}, GenOptions{MaxNewTokens: 64, IgnoreEOS: true}},
		{"testdata/tiny", []input{{"tiny", tiny.Pixels, tiny.Before, tiny.After, tiny.Tokens}}, GenOptions{}},
		{"testdata/tiny16", []input{{"tiny16", tiny.Pixels, tiny.Before, tiny.After, tiny.Tokens}}, GenOptions{}},
	}
	for _, c := range cases {
		run := loadLoop(t, c.dir, LoopRun)
		bound := loadLoop(t, c.dir, LoopBinding)
		if got := bound.Info().Loop; got != "binding" {
			t.Fatalf("%s: loop %q", c.dir, got)
		}
		for rep := 0; rep < 2; rep++ {
			for _, in := range c.inputs {
				a, err := run.GenerateWith(context.Background(), in.px, in.before, in.after, c.opts)
				if err != nil {
					t.Fatal(err)
				}
				b, err := bound.GenerateWith(context.Background(), in.px, in.before, in.after, c.opts)
				if err != nil {
					t.Fatal(err)
				}
				if len(a.Tokens) == 0 || !equalIDs(a.Tokens, b.Tokens) || a.Stop != b.Stop {
					t.Fatalf("%s %s: tokens differ\n run:     %v (%s)\n binding: %v (%s)", c.dir, in.name, a.Tokens, a.Stop, b.Tokens, b.Stop)
				}
				if in.want != nil && !equalIDs(b.Tokens, in.want) {
					t.Fatalf("%s %s: binding loop %v, PyTorch %v", c.dir, in.name, b.Tokens, in.want)
				}
			}
		}
	}
}

func loadLoop(t *testing.T, dir string, l Loop) *Model {
	t.Helper()
	m, err := Load(dir, DeviceOptions{Loop: l})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// A cancelled context stops the IoBinding loop with ctx's error.
func TestBindingLoopCancel(t *testing.T) {
	initORT(t)
	ref, px := readCRGreedy(t)
	m := loadLoop(t, demoDir, LoopBinding)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.GenerateWith(ctx, px, ref.Cases[0].PromptChunks[0], ref.Cases[0].PromptChunks[1], GenOptions{MaxNewTokens: 8})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// Where the runtime has no device-to-host CopyTensors, the IoBinding loop
// binds the logits to host memory instead (boundSessions.hostLogits); that
// path gives the same tokens too (forced here on the CPU provider).
func TestBindingLoopHostLogits(t *testing.T) {
	initORT(t)
	ref, px := readCRGreedy(t)
	run := loadLoop(t, demoDir, LoopRun)
	bound := loadLoop(t, demoDir, LoopBinding)
	bound.bound.hostLogits = true
	o := GenOptions{MaxNewTokens: 32, IgnoreEOS: true}
	c := ref.Cases[1]
	a, err := run.GenerateWith(context.Background(), px, c.PromptChunks[0], c.PromptChunks[1], o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bound.GenerateWith(context.Background(), px, c.PromptChunks[0], c.PromptChunks[1], o)
	if err != nil {
		t.Fatal(err)
	}
	if !equalIDs(a.Tokens, b.Tokens) {
		t.Fatalf("host-bound logits: %v, run loop %v", b.Tokens, a.Tokens)
	}
}
