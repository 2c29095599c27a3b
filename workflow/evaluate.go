package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/radraft/radraft/chexprompt"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/qa"
)

// EvaluateWorker runs the evaluate_report job (queued by drafts.SignReport and
// AmendReport): candidate = the report's AI draft, reference = the job's
// reference version; the result is stored and a clinically significant
// error raises a QA flag (qa.Store.SaveEvaluation).
type EvaluateWorker struct {
	river.WorkerDefaults[drafts.EvaluateReportArgs]
	QA        *qa.Store
	Evaluator chexprompt.Evaluator
	// JobTimeout bounds one job (the judge's retries included); default 10m.
	JobTimeout time.Duration
}

func (w *EvaluateWorker) Timeout(*river.Job[drafts.EvaluateReportArgs]) time.Duration {
	if w.JobTimeout > 0 {
		return w.JobTimeout
	}
	return 10 * time.Minute
}

func (w *EvaluateWorker) Work(ctx context.Context, job *river.Job[drafts.EvaluateReportArgs]) error {
	out, err := EvaluateReport(ctx, w.QA, w.Evaluator, job.Args)
	if err != nil {
		// No report or no AI draft will not appear by retrying.
		if errors.Is(err, drafts.ErrNoReport) || errors.Is(err, qa.ErrNoAIDraft) ||
			errors.Is(err, qa.ErrEvaluationNotFound) || errors.Is(err, drafts.ErrReportNotSigned) {
			slog.Warn("evaluation cancelled", "report", job.Args.ReportID, "reason", err)
			return river.JobCancel(err)
		}
		slog.Warn("evaluation failed", "report", job.Args.ReportID, "attempt", job.Attempt, "err", err)
		return err
	}
	// IDs and counts only: never report text.
	slog.Info("report evaluated", "report", job.Args.ReportID, "evaluation", out.Saved.EvaluationID,
		"engine", out.Result.Engine, "significant", out.Result.SignificantTotal(), "total", out.Result.Total(),
		"flag", out.Saved.FlagID)
	return nil
}

// Outcome is what EvaluateReport stored.
type Outcome struct {
	Saved  qa.SavedEvaluation
	Result *chexprompt.Result
}

// EvaluateReport scores a report's AI draft against its reference version
// and stores the evaluation (and QA flag). Before an LLM judge sees the
// texts, the study's patient identifiers are stripped from them.
func EvaluateReport(ctx context.Context, q *qa.Store, ev chexprompt.Evaluator, args drafts.EvaluateReportArgs) (*Outcome, error) {
	in, err := q.LoadEvaluationInput(ctx, args.ReportID, args.ReferenceVersion)
	if err != nil {
		return nil, err
	}
	ref, cand := in.Reference, in.Candidate
	if ev.Engine() != chexprompt.EngineOffline {
		ids := chexprompt.Identifiers{PatientName: in.PatientName, PatientID: in.PatientID, AccessionNumber: in.AccessionNumber, PatientBirthDate: in.PatientBirthDate}
		ref, cand = chexprompt.StripIdentifiers(ref, ids), chexprompt.StripIdentifiers(cand, ids)
	}
	res, err := ev.Evaluate(ctx, ref, cand)
	if err != nil {
		return nil, fmt.Errorf("chexprompt: evaluate report %s: %w", args.ReportID, err)
	}
	body, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	saved, err := q.SaveEvaluation(ctx, in, qa.NewEvaluation{
		Engine: res.Engine, JudgeModel: res.Model, Note: res.Note,
		Significant: countsMap(res.ClinicallySignificant), Insignificant: countsMap(res.ClinicallyInsignificant),
		Result: body, Raw: res.Raw,
	})
	if err != nil {
		return nil, err
	}
	return &Outcome{Saved: saved, Result: res}, nil
}

func countsMap(c chexprompt.Counts) map[string]int {
	m := map[string]int{}
	for _, t := range chexprompt.ErrorTypes {
		m[string(t)] = c.Get(t)
	}
	return m
}

// Sentence is one sentence of a text with its index.
type Sentence struct {
	Index int    `json:"index"`
	Text  string `json:"text"`
}

// SecondReading is the on-demand check of the radiologist's current text
// (reference) against the AI draft (candidate), before signing.
type SecondReading struct {
	ReportID  string             `json:"report_id"`
	AIVersion int                `json:"ai_version"`
	Result    *chexprompt.Result `json:"result"`
	// The sentences that at least one error concerns.
	DifferingCurrent []Sentence `json:"differing_current"`
	DifferingAI      []Sentence `json:"differing_ai"`
}

// SecondRead runs the offline evaluator synchronously on the study's AI
// draft and text (the report's current text when text is empty). Nothing is
// stored and nothing leaves radraft.
func SecondRead(ctx context.Context, st *drafts.Store, studyUID, text string) (*SecondReading, error) {
	r, err := st.ReportForStudy(ctx, studyUID)
	if err != nil {
		return nil, err
	}
	ai := r.AIDraft()
	if ai == nil {
		return nil, qa.ErrNoAIDraft
	}
	if text == "" {
		if cur := r.Current(); cur != nil {
			text = cur.Findings
		}
	}
	res, err := chexprompt.NewOffline().Evaluate(ctx, text, ai.Findings)
	if err != nil {
		return nil, err
	}
	out := &SecondReading{ReportID: r.ID, AIVersion: ai.Version, Result: res, DifferingCurrent: []Sentence{}, DifferingAI: []Sentence{}}
	refIdx, candIdx := res.DifferingSentences()
	for _, i := range refIdx {
		out.DifferingCurrent = append(out.DifferingCurrent, Sentence{i, res.ReferenceSentences[i]})
	}
	for _, i := range candIdx {
		out.DifferingAI = append(out.DifferingAI, Sentence{i, res.CandidateSentences[i]})
	}
	return out, nil
}
