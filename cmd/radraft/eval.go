package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/radraft/radraft/chexprompt"
)

// evalLine is one output line: the pair's id (when given) and the result.
type evalLine struct {
	ID string `json:"id,omitempty"`
	*chexprompt.Result
	Error string `json:"error,omitempty"`
}

func runEval(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	engine := fs.String("engine", "offline", "offline (rule-based approximation, no network) or llm (OpenAI-compatible judge)")
	in := fs.String("in", "", "PAIRS.jsonl: one {\"reference\",\"candidate\"[,\"id\"][,\"human\"]} per line; - for stdin")
	url := fs.String("judge-url", env("RADRAFT_JUDGE_URL", ""), "judge endpoint (RADRAFT_JUDGE_URL)")
	model := fs.String("judge-model", env("RADRAFT_JUDGE_MODEL", ""), "judge model (RADRAFT_JUDGE_MODEL)")
	key := fs.String("judge-api-key", env("RADRAFT_JUDGE_API_KEY", ""), "judge API key (prefer RADRAFT_JUDGE_API_KEY)")
	parallel := fs.Int("parallel", 4, "pairs scored at once (llm)")
	rate := fs.Float64("rate", 60, "judge requests per minute (llm)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: radraft eval --engine offline|llm --in PAIRS.jsonl\n\nPrints one JSON result per pair (CheXprompt's shape); when pairs carry\nhuman counts (key \"human\", same shape) a last line {\"agreement\": ...}\nwith Kendall's tau-b and the mean absolute difference on total and on\nclinically significant errors.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		fs.Usage()
		return flag.ErrHelp
	}
	var ev chexprompt.Evaluator
	switch *engine {
	case "offline":
		ev = chexprompt.NewOffline()
	case "llm":
		if *url == "" {
			return fmt.Errorf("--engine llm needs --judge-url (or RADRAFT_JUDGE_URL)")
		}
		j, err := chexprompt.NewJudge(chexprompt.JudgeConfig{URL: *url, Model: *model, APIKey: *key, RatePerMinute: *rate, MaxConcurrency: *parallel})
		if err != nil {
			return err
		}
		ev = j
	default:
		return fmt.Errorf("--engine must be offline or llm, not %q", *engine)
	}
	var data []byte
	var err error
	if *in == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(*in)
	}
	if err != nil {
		return err
	}
	pairs, err := chexprompt.DecodePairs(data)
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	return scorePairs(ctx, ev, pairs, max(1, *parallel), os.Stdout, os.Stderr)
}

// scorePairs scores pairs (in parallel, output in input order) and writes
// the result lines and, when every pair has human counts, the agreement.
func scorePairs(ctx context.Context, ev chexprompt.Evaluator, pairs []chexprompt.Pair, parallel int, out, errOut io.Writer) error {
	results := make([]*chexprompt.Result, len(pairs))
	errs := make([]error, len(pairs))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range pairs {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			results[i], errs[i] = ev.Evaluate(ctx, pairs[i].Reference, pairs[i].Candidate)
		}(i)
	}
	wg.Wait()
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	failed := 0
	var scored []*chexprompt.Result
	var human []chexprompt.HumanCounts
	withHuman := 0
	for i, p := range pairs {
		line := evalLine{ID: p.ID, Result: results[i]}
		if errs[i] != nil {
			failed++
			line.Error = errs[i].Error()
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
		if p.Human != nil {
			withHuman++
			if errs[i] == nil {
				scored = append(scored, results[i])
				human = append(human, *p.Human)
			}
		}
	}
	if withHuman > 0 {
		a := chexprompt.MeasureAgreement(scored, human)
		if err := enc.Encode(map[string]any{"agreement": a}); err != nil {
			return err
		}
		fmt.Fprintf(errOut, "radraft eval: %d pairs with human counts (%d scored), engine %s: Kendall tau-b total %s, significant %s; MAD total %s, significant %s; whole-pair exact match %.3f\n",
			withHuman, a.N, ev.Engine(), stat(a.TauTotal), stat(a.TauSignificant), stat(a.MADTotal), stat(a.MADSignificant), a.ExactMatchPair)
		if ev.Engine() == chexprompt.EngineOffline {
			fmt.Fprintln(errOut, "radraft eval: note: "+chexprompt.OfflineNote)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d pairs could not be scored", failed, len(pairs))
	}
	return nil
}

func stat(s chexprompt.Stat) string {
	b, _ := json.Marshal(s)
	return string(b)
}
