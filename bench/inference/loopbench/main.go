// Command loopbench compares generation loops and devices on one bundle:
// for each configuration (cpu/run, cpu/binding, cuda, cuda:N) it loads the
// model, and in alternating order per repetition (one warm-up) generates a
// fixed number of tokens (EOS ignored) from the same synthetic prompt. It
// prints, as JSON, the median prefill and decode times per configuration,
// the ratio of each to the first, and whether every configuration gave the
// first one's tokens; it exits 1 when tokens differ.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/radraft/radraft/inference"
)

type result struct {
	Config    string  `json:"config"`
	PrefillMS float64 `json:"prefill_ms"`
	DecodeMS  float64 `json:"decode_ms"`
	StepMS    float64 `json:"ms_per_step"`
	VsFirst   float64 `json:"decode_vs_first"`
	// PairedVsFirst is the median over repetitions of this decode time over
	// the first configuration's in the same repetition (load drift cancels).
	PairedVsFirst float64   `json:"decode_vs_first_paired"`
	SameTokens    bool      `json:"same_tokens_as_first"`
	AllDecodeMS   []float64 `json:"all_decode_ms"`
	tokens        []int64
	prefill       []float64
}

func main() {
	dir := flag.String("model", "models/demo", "model bundle")
	configs := flag.String("configs", "cpu/run,cpu/binding", "comma list of device/loop (cpu/run, cpu/binding, cuda, cuda:N)")
	steps := flag.Int("tokens", 64, "new tokens per generation")
	reps := flag.Int("reps", 7, "repetitions (after one warm-up)")
	threads := flag.Int("threads", 0, "intra-op threads of the CPU provider (0 = ORT default)")
	promptLen := flag.Int("prompt", 0, "prompt positions, image tokens included (0 = image tokens + 79)")
	flag.Parse()
	if _, err := inference.InitRuntimeFromEnv(); err != nil {
		fail(err)
	}
	var models []*inference.Model
	var res []*result
	for _, c := range strings.Split(*configs, ",") {
		dev, loop, _ := strings.Cut(c, "/")
		d, err := inference.ParseDevice(dev)
		if err != nil {
			fail(err)
		}
		d.IntraOpThreads = *threads
		switch loop {
		case "run":
			d.Loop = inference.LoopRun
		case "binding":
			d.Loop = inference.LoopBinding
		case "":
		default:
			fail(fmt.Errorf("%s: loop must be run or binding", c))
		}
		m, err := inference.Load(*dir, d)
		if err != nil {
			fail(fmt.Errorf("config %s: %w", c, err))
		}
		defer m.Close()
		models = append(models, m)
		res = append(res, &result{Config: c})
	}
	man := models[0].Manifest
	pixels := make([]float32, 3*man.ImageSize*man.ImageSize)
	for i := range pixels {
		pixels[i] = float32(i%251)/125 - 1
	}
	text := 79
	if *promptLen > 0 {
		text = *promptLen - man.ImageTokens
	}
	if text < 2 {
		fail(fmt.Errorf("-prompt %d leaves no room for text around %d image tokens", *promptLen, man.ImageTokens))
	}
	before, after := []int64{man.BOS}, []int64{}
	for i := 1; len(before)+len(after) < text; i++ {
		before = append(before, int64(3+i%(man.VocabSize-3)))
		if len(before)+len(after) < text {
			after = append(after, int64(3+(7*i)%(man.VocabSize-3)))
		}
	}
	msf := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for r := 0; r <= *reps; r++ {
		for k := range models {
			i := (k + r) % len(models) // rotate the order between repetitions
			g, err := models[i].GenerateWith(context.Background(), pixels, before, after,
				inference.GenOptions{MaxNewTokens: *steps + 1, IgnoreEOS: true})
			if err != nil {
				fail(fmt.Errorf("%s: %w", res[i].Config, err))
			}
			res[i].tokens = g.Tokens
			if r > 0 {
				res[i].AllDecodeMS = append(res[i].AllDecodeMS, msf(g.Timings.Decode))
				res[i].prefill = append(res[i].prefill, msf(g.Timings.Prefill))
			}
		}
	}
	med := func(x []float64) float64 { y := slices.Clone(x); slices.Sort(y); return y[len(y)/2] }
	same := true
	for _, r := range res {
		r.PrefillMS, r.DecodeMS = med(r.prefill), med(r.AllDecodeMS)
		r.StepMS = r.DecodeMS / float64(*steps)
		r.VsFirst = r.DecodeMS / res[0].DecodeMS
		var paired []float64
		for i, d := range r.AllDecodeMS {
			paired = append(paired, d/res[0].AllDecodeMS[i])
		}
		r.PairedVsFirst = med(paired)
		r.SameTokens = slices.Equal(r.tokens, res[0].tokens)
		same = same && r.SameTokens
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{ //nolint:errcheck
		"model": man.Name, "prompt_tokens": len(before) + man.ImageTokens + len(after), "steps": *steps, "reps": *reps,
		"results": res,
	})
	if !same {
		fmt.Fprintln(os.Stderr, "loopbench: configurations gave different tokens")
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loopbench:", err)
	os.Exit(1)
}
