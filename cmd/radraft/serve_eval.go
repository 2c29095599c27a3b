package main

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/radraft/radraft/chexprompt"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/qa"
	"github.com/radraft/radraft/workflow"
)

// evaluationPart is the CheXprompt evaluation worker: it works
// evaluate_report jobs (queued on sign and amend) on nodes that run the API
// (role all or api); the jobs part runs it. The evaluator is the LLM judge
// when RADRAFT_JUDGE_URL is set, else the offline one.
func evaluationPart() part {
	return part{
		name:    "evaluation",
		enabled: func(c *config) bool { return c.runsListeners() },
		prepare: prepareEvaluation,
	}
}

// newEvaluator picks the evaluator from the configuration.
func newEvaluator(url, model, apiKey string) (chexprompt.Evaluator, error) {
	if url == "" {
		return chexprompt.NewOffline(), nil
	}
	return chexprompt.NewJudge(chexprompt.JudgeConfig{URL: url, Model: model, APIKey: apiKey})
}

func prepareEvaluation(ctx context.Context, d *deps) error {
	ev, err := newEvaluator(d.cfg.JudgeURL, d.cfg.JudgeModel, d.cfg.JudgeAPIKey)
	if err != nil {
		return err
	}
	river.AddWorker(d.workers, &workflow.EvaluateWorker{QA: qa.New(d.store.DB()), Evaluator: ev, JobTimeout: evaluationTimeout})
	// The judge's own concurrency limit (4) bounds requests; more workers
	// would only wait for it.
	d.queues[drafts.QueueEvaluation] = river.QueueConfig{MaxWorkers: 4}
	if ev.Engine() == chexprompt.EngineOffline {
		slog.Info("evaluation: offline evaluator (an approximation of CheXprompt; set RADRAFT_JUDGE_URL for an LLM judge)")
	} else {
		slog.Info("evaluation: LLM judge", "model", ev.Model())
	}
	return nil
}
