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
//
// A job superseded by a newer request of a person (a higher draft
// generation, see drafts.DraftStudyArgs) stops without writing anything:
// the newer job, queued in the same transaction as the request, drafts.
func (w *DraftWorker) Work(ctx context.Context, job *river.Job[drafts.DraftStudyArgs]) error {
	log := slog.With("job", job.ID, "study", job.Args.StudyUID, "attempt", job.Attempt, "reason", job.Args.Reason,
		"generation", job.Args.Generation)
	err := w.work(ctx, log, job)
	if errors.Is(err, drafts.ErrSuperseded) {
		log.Info("draft: superseded by a newer request; its job drafts")
		return nil
	}
	return err
}

func (w *DraftWorker) work(ctx context.Context, log *slog.Logger, job *river.Job[drafts.DraftStudyArgs]) error {
	uid, gen := job.Args.StudyUID, job.Args.Generation
	t, err := w.Store.DraftTarget(ctx, uid)
	if errors.Is(err, drafts.ErrStudyNotFound) {
		log.Warn("draft: study not found")
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if gen < t.Generation {
		return drafts.ErrSuperseded
	}
	if done, err := w.alreadyDrafted(ctx, log, t, job.Args.Reason); done || err != nil {
		return err
	}
	if t.FrontalSOP == "" || t.FrontalPath == "" {
		if err := w.Store.MarkDraftFailed(ctx, uid, gen, "no frontal image in the study"); err != nil {
			return err
		}
		log.Warn("draft failed: no frontal image")
		return river.JobCancel(errors.New("no frontal image"))
	}
	ind, err := w.Indication(ctx, uid)
	if err != nil {
		return fmt.Errorf("indication: %w", err)
	}
	if ind.OrderCancelled && job.Args.Reason != "requested" {
		// The RIS cancelled the exam: no draft unless a person asks for one.
		if err := w.Store.MarkDraftFailed(ctx, uid, gen, "not drafted: the RIS cancelled the order"); err != nil {
			return err
		}
		log.Info("draft: order cancelled")
		return river.JobCancel(errors.New("order cancelled"))
	}
	if wait, err := w.waitForOrder(ctx, log, t, ind, job.CreatedAt); err != nil || wait > 0 {
		if err != nil {
			return err
		}
		return river.JobSnooze(wait)
	}
	if err := w.Store.MarkDrafting(ctx, uid, gen); err != nil {
		return err
	}
	d, err := w.Drafter.Draft(ctx, filepath.Join(w.StorageDir, t.FrontalPath), ind.Text)
	if errors.Is(err, inference.ErrNotDecodable) {
		d, err = w.fromKeptCopy(ctx, log, t.FrontalSOP, ind, err)
	}
	if err != nil {
		return w.draftFailed(ctx, log, uid, job, err)
	}
	return w.store(ctx, log, uid, gen, ind, d)
}

// fromKeptCopy recovers from an undecodable frontal image: it drafts from
// the copies of the same SOP Instance kept aside (a PACS's re-send, newest
// first), and the first that decodes becomes the indexed instance
// (drafts.Store.PromoteConflict). With none, it returns notDecodable.
func (w *DraftWorker) fromKeptCopy(ctx context.Context, log *slog.Logger, sop string, ind Indication, notDecodable error) (*inference.Draft, error) {
	copies, err := w.Store.ConflictCopies(ctx, sop)
	if err != nil {
		return nil, err
	}
	for _, c := range copies {
		d, err := w.Drafter.Draft(ctx, filepath.Join(w.StorageDir, c.Path), ind.Text)
		if errors.Is(err, inference.ErrNotDecodable) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := w.Store.PromoteConflict(ctx, sop, c.ID); err != nil {
			return nil, err
		}
		log.Info("draft: the frontal image did not decode; a copy kept aside did and replaces it", "conflict_id", c.ID)
		return d, nil
	}
	return nil, notDecodable
}

// alreadyDrafted says whether the study needs no draft now: it is not
// redraftable (signed, edited), or a settled job finds the AI draft made
// with the indication the study has now.
func (w *DraftWorker) alreadyDrafted(ctx context.Context, log *slog.Logger, t *drafts.DraftTarget, reason string) (bool, error) {
	if err := t.Redraftable(); err != nil {
		log.Info("draft: not drafted", "why", err)
		return true, nil
	}
	if t.AIVersion == 0 || reason != "settled" {
		return false, nil
	}
	// A settled job re-runs only when the order changed the indication
	// while the earlier run was drafting (see the end of store).
	ind, err := w.Indication(ctx, t.StudyUID)
	if err != nil {
		return true, fmt.Errorf("indication: %w", err)
	}
	if ind.Text == t.AIIndication {
		log.Info("draft: study already has an AI draft")
		return true, nil
	}
	return false, nil
}

// waitForOrder says how long to wait for the study's order: until OrderWait
// after it settled (or the job was created), 0 when drafting should go
// ahead. A wait is recorded on the study.
func (w *DraftWorker) waitForOrder(ctx context.Context, log *slog.Logger, t *drafts.DraftTarget, ind Indication, jobCreated time.Time) (time.Duration, error) {
	if ind.HasOrder || ind.OrderCancelled || w.OrderWait <= 0 {
		return 0, nil
	}
	since := t.SettledAt
	if since.IsZero() {
		since = jobCreated
	}
	remaining := since.Add(w.OrderWait).Sub(w.now())
	if remaining <= 0 {
		return 0, nil
	}
	if err := w.Store.SetStudyReason(ctx, t.StudyUID, fmt.Sprintf("waiting for the HL7 order until %s", since.Add(w.OrderWait).UTC().Format(time.RFC3339))); err != nil {
		return 0, err
	}
	log.Info("draft: waiting for the order", "for", remaining.Round(time.Second))
	return remaining, nil
}

// draftFailed records a failed draft: permanent failures (pixels not
// decodable, model error) on the study with the job cancelled; others as a
// retry, or as the failure on the last attempt, returned for River to retry.
func (w *DraftWorker) draftFailed(ctx context.Context, log *slog.Logger, uid string, job *river.Job[drafts.DraftStudyArgs], err error) error {
	gen := job.Args.Generation
	var why string
	switch {
	case errors.Is(err, inference.ErrNotDecodable):
		why = reason("pixels not decodable", errors.New(strings.TrimPrefix(err.Error(), inference.ErrNotDecodable.Error()+": ")))
	case errors.Is(err, inference.ErrModel):
		why = reason("model error", err)
	}
	if why != "" {
		if err := w.Store.MarkDraftFailed(ctx, uid, gen, why); err != nil {
			return err
		}
		log.Warn("draft failed", "why", why)
		return river.JobCancel(err)
	}
	if job.Attempt >= job.MaxAttempts {
		if err2 := w.Store.MarkDraftFailed(context.WithoutCancel(ctx), uid, gen,
			reason(fmt.Sprintf("drafting failed after %d attempts", job.Attempt), err)); err2 != nil {
			if errors.Is(err2, drafts.ErrSuperseded) {
				return err2
			}
			log.Error("draft: record failure", "err", err2)
		}
	} else {
		// Back to ready while River waits to retry.
		if err2 := w.Store.MarkDraftRetrying(context.WithoutCancel(ctx), uid, gen,
			reason(fmt.Sprintf("attempt %d failed, will retry", job.Attempt), err)); err2 != nil {
			if errors.Is(err2, drafts.ErrSuperseded) {
				return err2
			}
			log.Error("draft: record retry", "err", err2)
		}
	}
	log.Warn("draft attempt failed", "err", err)
	return err
}

// store saves the draft as the report's AI version, unless the report was
// signed or edited meanwhile, and drafts once more when the indication
// changed while this job ran.
func (w *DraftWorker) store(ctx context.Context, log *slog.Logger, uid string, gen int64, ind Indication, d *inference.Draft) error {
	timings := d.Timings.Map()
	timings["stop"] = d.Stop
	timings["device"] = d.Model.Device
	timings["onnxruntime"] = d.Model.Runtime
	timings["demo"] = d.Model.Demo
	reportID, version, err := w.Store.SaveAIDraft(ctx, drafts.AIDraft{
		StudyUID: uid, Findings: d.Findings, ModelName: d.Model.Name, ModelVersion: d.Model.Version,
		Prompt: d.Prompt, Indication: ind.Text, IndicationSource: ind.Source, Timings: timings, Generation: gen,
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
