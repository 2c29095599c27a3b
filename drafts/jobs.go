package drafts

import (
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
)

// Queue names. The inference queue is worked only by nodes that run the model.
const (
	QueueInference  = "inference"
	QueueEvaluation = "evaluation"
)

// DraftStudyArgs asks for an AI draft of a settled study. Jobs are unique per
// study and generation while pending or running; a completed one does not
// block a re-draft.
type DraftStudyArgs struct {
	StudyUID string `json:"study_uid" river:"unique"`
	// Reason says why it was queued: settled, order_arrived, requested.
	Reason string `json:"reason"`
	// Generation is the study's draft_generation when the job was queued
	// (migrations/0072): a person's request bumps it, so its job is always
	// inserted, and a job left behind by a newer request stops unwritten.
	Generation int64 `json:"generation,omitempty" river:"unique"`
}

func (DraftStudyArgs) Kind() string { return "draft_study" }

func (DraftStudyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       QueueInference,
		MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			ByState: []rivertype.JobState{
				rivertype.JobStateAvailable, rivertype.JobStatePending,
				rivertype.JobStateRetryable, rivertype.JobStateRunning,
				rivertype.JobStateScheduled,
			},
		},
	}
}

// EvaluateReportArgs asks CheXprompt to score a report's AI draft against a
// reference version of the same report (the signed one, by default).
type EvaluateReportArgs struct {
	ReportID         string `json:"report_id"`
	ReferenceVersion int    `json:"reference_version"`
}

func (EvaluateReportArgs) Kind() string { return "evaluate_report" }

func (EvaluateReportArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueEvaluation, MaxAttempts: 10}
}

// newInsertOnlyClient makes the River client the store uses to enqueue jobs
// inside its own transactions; workers run in clients of their own.
func newInsertOnlyClient(s *Store) (*river.Client[pgx.Tx], error) {
	return river.NewClient(riverpgxv5.New(s.Pool), &river.Config{})
}
