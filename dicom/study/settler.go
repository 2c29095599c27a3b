// Package study owns what happens to a study once its images have arrived:
// deciding that it is complete (settling) and picking the frontal image
// the model drafts from (view classification). The state lives in Postgres
// (SettleStore, which drafts.Store implements); this package supplies the policy.
//
// # Why a quiet timer, not association release
//
// A study counts as received after RADRAFT_SETTLE_QUIET with no new
// instance, not when an association is released, because:
//   - senders keep associations open (PACS forwarders and Orthanc's DICOM
//     workers reuse one association for many studies, for minutes), so a
//     release may come long after a study is complete, or never before the
//     idle timeout;
//   - one study can arrive over several associations, in parallel or one
//     after another (a modality sends the PA, the tech re-sends a repeat
//     lateral; a router fans out), so one release says nothing about the
//     study;
//   - a quiet period is what peers do (MONAI Deploy's gateway groups per
//     study after a timeout) and needs no knowledge of the sender.
//
// The timer is not held in memory: studies.last_received_at (set by the
// indexer, on the database clock) is the truth, and each settler polls
// for "receiving and quiet for long enough" rows with FOR UPDATE SKIP
// LOCKED. A restart loses nothing (due studies settle on the next poll),
// several nodes can run settlers at once, and an instance arriving after
// settling sends the study back to receiving, to be settled again with it.
//
// # View selection
//
// Only projection radiographs are candidates (Candidate: CR, DX, and
// Secondary Capture whose Modality is CR or DX); the other objects a PACS
// forwards with a study (scanned requisitions as OT Secondary Capture, CT
// including topograms, SR, KOS, presentation states, documents) are kept
// and named in the reason as skipped, never drafted from. Classify reads one image's view from View Code Sequence, View Position,
// then free text (series description, protocol name, study description,
// procedure code meanings, acquisition device processing description,
// requested procedure description); Decide picks the frontal image among them or
// leaves the decision to a person (state needs_view) with a reason. Text
// the index does not keep in columns is read from the stored file, only
// when the indexed columns leave an image undecided.
package study

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/radraft/radraft/ingest"
)

// SettleStore claims quiet studies and records the view decision with the
// study's next step in one transaction (drafts.Store implements it).
type SettleStore interface {
	SettleNext(ctx context.Context, quiet time.Duration, skip []string,
		decide func(context.Context, *ingest.SettlingStudy) (ingest.ViewDecision, error)) (*ingest.Settled, error)
}

// Settler settles quiet studies. Run one per node that runs listeners; any
// number may run against one database.
type Settler struct {
	Store SettleStore
	// StorageDir is where the indexed paths are relative to; empty = do not
	// read files (decide from the indexed columns only).
	StorageDir string
	// Quiet is how long a study must go without a new instance.
	Quiet time.Duration
	// Interval between polls (default: 1 s, or Quiet/2 when shorter).
	Interval time.Duration
	Logger   *slog.Logger

	mu sync.Mutex
	// failed holds studies whose settle failed, until when they are passed
	// over (so one bad study cannot hold up the others; in memory only:
	// a restart simply retries them).
	failed map[string]time.Time
}

// retryAfter is how long a study whose settle failed is passed over.
const retryAfter = 30 * time.Second

func (s *Settler) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Settler) interval() time.Duration {
	if s.Interval > 0 {
		return s.Interval
	}
	iv := time.Second
	if half := s.Quiet / 2; half < iv {
		iv = max(half, 10*time.Millisecond)
	}
	return iv
}

// Run polls until ctx ends (a settle in progress commits or rolls back
// first); `radraft serve` runs it as a lifecycle.Loop.
func (s *Settler) Run(ctx context.Context) {
	t := time.NewTicker(s.interval())
	defer t.Stop()
	for {
		if _, err := s.SettleDue(ctx); err != nil && ctx.Err() == nil {
			s.log().Error("study: settle", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SettleDue settles every study due now and returns how many it settled.
// A study that fails is logged and passed over for retryAfter.
func (s *Settler) SettleDue(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed == nil {
		s.failed = map[string]time.Time{}
	}
	now := time.Now()
	skip := make([]string, 0, len(s.failed))
	for uid, until := range s.failed {
		if now.After(until) {
			delete(s.failed, uid)
		} else {
			skip = append(skip, uid)
		}
	}
	n := 0
	for ctx.Err() == nil {
		res, err := s.Store.SettleNext(ctx, s.Quiet, skip, s.Decide)
		var se *ingest.SettleError
		if errors.As(err, &se) && ctx.Err() == nil {
			s.log().Error("study: settle failed; retrying later", "study_uid", se.StudyUID, "err", se.Err, "retry_in", retryAfter)
			s.failed[se.StudyUID] = time.Now().Add(retryAfter)
			skip = append(skip, se.StudyUID)
			continue
		}
		if err != nil || res == nil {
			return n, err
		}
		n++
		s.log().Info("study settled", "study_uid", res.StudyUID, "state", res.State, "draft_queued", res.JobInserted)
	}
	return n, ctx.Err()
}

// Decide classifies a settling study's images (see Decide). It reads the
// stored files only when the indexed columns leave an image undecided.
func (s *Settler) Decide(ctx context.Context, st *ingest.SettlingStudy) (ingest.ViewDecision, error) {
	images := make([]Image, len(st.Instances))
	undecided := false
	for i, in := range st.Instances {
		images[i] = Image{
			SOPInstanceUID:    in.SOPInstanceUID,
			SOPClassUID:       in.SOPClassUID,
			Modality:          in.Modality,
			TransferSyntaxUID: in.TransferSyntaxUID,
			Rows:              in.Rows,
			Columns:           in.Columns,
			Order:             i, // instances come ordered by arrival
			ViewCode:          in.ViewCode,
			ViewPosition:      in.ViewPosition,
			SeriesDescription: in.SeriesDescription,
			StudyDescription:  st.StudyDescription,
		}
		if ok, _ := Candidate(images[i]); ok && Classify(images[i]).View == ViewUnknown {
			undecided = true
		}
	}
	if undecided && s.StorageDir != "" {
		for i, in := range st.Instances {
			if ctx.Err() != nil {
				return ingest.ViewDecision{}, ctx.Err()
			}
			if ok, _ := Candidate(images[i]); !ok {
				continue
			}
			if !filepath.IsLocal(in.Path) {
				s.log().Warn("study: indexed path is not inside the storage dir", "study_uid", st.StudyUID,
					"sop_instance_uid", in.SOPInstanceUID)
				continue
			}
			h, err := ReadHeaders(filepath.Join(s.StorageDir, in.Path))
			if err != nil {
				s.log().Warn("study: read headers for view selection", "study_uid", st.StudyUID,
					"sop_instance_uid", in.SOPInstanceUID, "err", err)
				continue
			}
			images[i].fill(h)
		}
	}
	return Decide(images), nil
}

// fill sets the empty fields of im from the file's headers.
func (im *Image) fill(h *Headers) {
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&im.ViewCode, h.ViewCode)
	set(&im.ViewPosition, h.ViewPosition)
	set(&im.SeriesDescription, h.SeriesDescription)
	set(&im.StudyDescription, h.StudyDescription)
	set(&im.ProtocolName, h.ProtocolName)
	set(&im.ProcessingDescription, h.ProcessingDescription)
	set(&im.RequestedProcedureDescription, h.RequestedProcedureDescription)
	if len(im.ProcedureCodeMeanings) == 0 {
		im.ProcedureCodeMeanings = h.ProcedureCodeMeanings
	}
}
