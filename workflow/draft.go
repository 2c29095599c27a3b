// Package workflow owns radraft's jobs: what happens when a study settles
// (draft it, waiting for its order), when an order arrives late (draft
// again) and when a report is signed or amended (evaluate the AI draft
// against it). It joins the domain store (drafts) to the pure libraries
// (inference, chexprompt), which know nothing of the database or of River.
package workflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/inference"
)

// Indication is what the worker drafts with.
type Indication struct {
	Text   string
	Source string
	// HasOrder: a (non-cancelled) HL7 order for the study has arrived.
	HasOrder bool
	// OrderCancelled: the only matching order was cancelled.
	OrderCancelled bool
}

// IndicationFunc finds a study's indication (order, else DICOM headers).
type IndicationFunc func(ctx context.Context, studyUID string) (Indication, error)

// DraftWorker works draft_study jobs.
type DraftWorker struct {
	river.WorkerDefaults[drafts.DraftStudyArgs]
	Store      *drafts.Store
	Drafter    inference.Drafter
	Indication IndicationFunc
	StorageDir string
	// OrderWait is how long after settling a study waits for its order.
	OrderWait time.Duration
	// JobTimeout bounds one draft (River's default of a minute is too short
	// for a 7B model on a CPU); 0 = 30 minutes.
	JobTimeout time.Duration
	Now        func() time.Time
}

// Timeout implements river.Worker.
func (w *DraftWorker) Timeout(*river.Job[drafts.DraftStudyArgs]) time.Duration {
	if w.JobTimeout > 0 {
		return w.JobTimeout
	}
	return 30 * time.Minute
}

func (w *DraftWorker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// reason shortens an error for the study's state_reason.
func reason(prefix string, err error) string {
	s := prefix
	if err != nil {
		s += ": " + err.Error()
	}
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// Work drafts one study: it waits (snoozes) for a missing order up to
// OrderWait after the study settled, stores the draft as the report's AI
// version, records permanent failures (no frontal image, pixels not
// decodable, model error) on the study and cancels the job, and returns
// other errors for River to retry with backoff; the last failed attempt is
// recorded on the study too.
func (w *DraftWorker) Work(ctx context.Context, job *river.Job[drafts.DraftStudyArgs]) error {
	uid := job.Args.StudyUID
	log := slog.With("job", job.ID, "study", uid, "attempt", job.Attempt, "reason", job.Args.Reason)
	t, err := w.Store.DraftTarget(ctx, uid)
	if errors.Is(err, drafts.ErrStudyNotFound) {
		log.Warn("draft: study not found")
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if err := t.Redraftable(); err != nil {
		log.Info("draft: not drafted", "why", err)
		return nil
	}
	if t.AIVersion > 0 && job.Args.Reason == "settled" {
		// A settled job re-runs only when the order changed the indication
		// while the earlier run was drafting (see the end of Work).
		ind, err := w.Indication(ctx, uid)
		if err != nil {
			return fmt.Errorf("indication: %w", err)
		}
		if ind.Text == t.AIIndication {
			log.Info("draft: study already has an AI draft")
			return nil
		}
	}
	if t.FrontalSOP == "" || t.FrontalPath == "" {
		if err := w.Store.MarkDraftFailed(ctx, uid, "no frontal image in the study"); err != nil {
			return err
		}
		log.Warn("draft failed: no frontal image")
		return river.JobCancel(errors.New("no frontal image"))
	}
	ind, err := w.Indication(ctx, uid)
	if err != nil {
		return fmt.Errorf("indication: %w", err)
	}
	if !ind.HasOrder && !ind.OrderCancelled && w.OrderWait > 0 {
		since := t.SettledAt
		if since.IsZero() {
			since = job.CreatedAt
		}
		if remaining := since.Add(w.OrderWait).Sub(w.now()); remaining > 0 {
			if err := w.Store.SetStudyReason(ctx, uid, fmt.Sprintf("waiting for the HL7 order until %s", since.Add(w.OrderWait).UTC().Format(time.RFC3339))); err != nil {
				return err
			}
			log.Info("draft: waiting for the order", "for", remaining.Round(time.Second))
			return river.JobSnooze(remaining)
		}
	}
	if err := w.Store.MarkDrafting(ctx, uid); err != nil {
		return err
	}
	d, err := w.Drafter.Draft(ctx, filepath.Join(w.StorageDir, t.FrontalPath), ind.Text)
	if err != nil {
		var why string
		switch {
		case errors.Is(err, inference.ErrNotDecodable):
			why = reason("pixels not decodable", errors.New(strings.TrimPrefix(err.Error(), inference.ErrNotDecodable.Error()+": ")))
		case errors.Is(err, inference.ErrModel):
			why = reason("model error", err)
		}
		if why != "" {
			if err := w.Store.MarkDraftFailed(ctx, uid, why); err != nil {
				return err
			}
			log.Warn("draft failed", "why", why)
			return river.JobCancel(err)
		}
		if job.Attempt >= job.MaxAttempts {
			if err2 := w.Store.MarkDraftFailed(context.WithoutCancel(ctx), uid,
				reason(fmt.Sprintf("drafting failed after %d attempts", job.Attempt), err)); err2 != nil {
				log.Error("draft: record failure", "err", err2)
			}
		} else {
			// Back to ready while River waits to retry.
			if err2 := w.Store.MarkDraftRetrying(context.WithoutCancel(ctx), uid,
				reason(fmt.Sprintf("attempt %d failed, will retry", job.Attempt), err)); err2 != nil {
				log.Error("draft: record retry", "err", err2)
			}
		}
		log.Warn("draft attempt failed", "err", err)
		return err
	}
	timings := d.Timings.Map()
	timings["stop"] = d.Stop
	timings["device"] = d.Model.Device
	timings["onnxruntime"] = d.Model.Runtime
	timings["demo"] = d.Model.Demo
	reportID, version, err := w.Store.SaveAIDraft(ctx, drafts.AIDraft{
		StudyUID: uid, Findings: d.Findings, ModelName: d.Model.Name, ModelVersion: d.Model.Version,
		Prompt: d.Prompt, Indication: ind.Text, IndicationSource: ind.Source, Timings: timings,
	})
	if errors.Is(err, drafts.ErrReportSigned) || errors.Is(err, drafts.ErrReportEdited) {
		log.Info("draft: not stored", "why", err)
		return nil
	}
	if err != nil {
		return err
	}
	log.Info("draft stored", "report", reportID, "version", version, "tokens", d.Timings.Tokens,
		"total_ms", d.Timings.TotalMS, "tokens_per_s", d.Timings.TokensPerSecond, "indication_source", ind.Source)
	// An order that arrived while this job ran could not queue a re-draft (the
	// job is unique per study while running): run this job once more.
	if now, err := w.Indication(ctx, uid); err == nil && now.Text != ind.Text {
		log.Info("draft: the indication changed while drafting; drafting again")
		return river.JobSnooze(time.Second)
	}
	return nil
}
