// Command genbench measures the generation loop's overhead over bare ONNX
// Runtime runs of the same decoder: for each repetition it runs Generate for
// a fixed number of new tokens (EOS ignored) and BareDecode (the same
// embedding + decoder runs, all tensors made before the clock starts), and
// prints the medians as JSON.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/radraft/radraft/inference"
)

func main() {
	dir := flag.String("model", "models/demo", "model bundle")
	steps := flag.Int("tokens", 64, "new tokens per generation")
	reps := flag.Int("reps", 7, "repetitions")
	textLen := flag.Int("text", 60, "prompt text tokens (split around <image>)")
	threads := flag.Int("threads", 0, "intra-op threads (0 = ORT default)")
	flag.Parse()
	if _, err := inference.InitRuntimeFromEnv(); err != nil {
		fail(err)
	}
	m, err := inference.Load(*dir, inference.DeviceOptions{IntraOpThreads: *threads})
	if err != nil {
		fail(err)
	}
	defer m.Close()
	man := m.Manifest
	S := man.ImageSize
	pixels := make([]float32, 3*S*S)
	before := []int64{man.BOS}
	for i := 1; i < *textLen*2/3; i++ {
		before = append(before, int64(3+i%(man.VocabSize-3)))
	}
	var after []int64
	for i := 0; i < *textLen/3; i++ {
		after = append(after, int64(3+(7*i)%(man.VocabSize-3)))
	}
	promptLen := len(before) + man.ImageTokens + len(after)
	ctx := context.Background()
	var genDec, genRuns, bareDec, genPre, barePre []float64
	msf := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	var ratios, naiveDec []float64
	for r := 0; r < *reps+1; r++ {
		// Alternate the order, and pair each Generate with a bare run, so
		// that the load of a shared machine hits both alike.
		var g *inference.Generation
		var p, d time.Duration
		gen := func() {
			if g, err = m.GenerateWith(ctx, pixels, before, after, inference.GenOptions{MaxNewTokens: *steps + 1, IgnoreEOS: true}); err != nil {
				fail(err)
			}
		}
		bare := func() {
			// Generate's prefill yields token 1; its loop then runs `steps` steps.
			if p, d, err = m.BareDecode(ctx, promptLen, *steps); err != nil {
				fail(err)
			}
		}
		if r%2 == 0 {
			gen()
			bare()
		} else {
			bare()
			gen()
		}
		_, nd, err := m.NaiveDecode(ctx, promptLen, *steps)
		if err != nil {
			fail(err)
		}
		if r == 0 {
			continue // warm-up
		}
		naiveDec = append(naiveDec, msf(nd))
		genDec = append(genDec, msf(g.Timings.Decode))
		genRuns = append(genRuns, msf(g.Timings.DecodeRuns))
		genPre = append(genPre, msf(g.Timings.Prefill))
		bareDec = append(bareDec, msf(d))
		barePre = append(barePre, msf(p))
		ratios = append(ratios, msf(g.Timings.Decode)/msf(d))
	}
	med := func(x []float64) float64 { y := slices.Clone(x); slices.Sort(y); return y[len(y)/2] }
	gd, bd := med(genDec), med(bareDec)
	json.NewEncoder(os.Stdout).Encode(map[string]any{ //nolint:errcheck
		"model": man.Name, "layers": man.NumLayers, "hidden": man.HiddenSize, "prompt_tokens": promptLen,
		"steps": *steps, "reps": *reps,
		"generate_decode_ms":          gd,
		"generate_ort_runs_ms":        med(genRuns),
		"bare_decode_ms":              bd,
		"generate_prefill_ms":         med(genPre),
		"bare_prefill_ms":             med(barePre),
		"naive_decode_ms":             med(naiveDec),
		"naive_vs_generate_pct":       100 * (med(naiveDec)/gd - 1),
		"kv_bytes_per_step_at_prompt": 2 * man.NumLayers * man.NumKVHeads * promptLen * man.HeadSize * 4,
		"overhead_vs_bare_pct":        100 * (gd/bd - 1),
		"overhead_in_loop_pct":        100 * (gd/med(genRuns) - 1),
		"per_step_generate_ms":        gd / float64(*steps),
		"per_step_bare_ms":            bd / float64(*steps),
		"all_generate_decode_ms":      genDec,
		"all_bare_decode_ms":          bareDec,
	})
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "genbench:", err)
	os.Exit(1)
}
