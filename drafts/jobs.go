package drafts

import (
	"context"
	"fmt"
	"time"

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
	return river.NewClient(riverpgxv5.New(s.pool), &river.Config{})
}

// ClaimNodeID takes a Postgres advisory lock named after a node ID and holds
// it on a connection of its own until release is called (or the process
// dies, which closes the connection). It waits up to wait for a previous
// process's connection to be noticed gone, then fails: another live process
// runs with the same node ID.
func (s *Store) ClaimNodeID(ctx context.Context, nodeID string, wait time.Duration) (release func(), err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("drafts: node lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext('radraft.node'), hashtext($1))`, nodeID).Scan(&ok); err != nil {
			conn.Release()
			return nil, fmt.Errorf("drafts: node lock: %w", err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			conn.Release()
			return nil, fmt.Errorf("drafts: another running process uses node ID %q (give each process its own RADRAFT_NODE_ID)", nodeID)
		}
		select {
		case <-ctx.Done():
			conn.Release()
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return func() {
		// Closing the connection ends the session and its lock, whatever
		// state the connection is in.
		conn.Hijack().Close(context.Background()) //nolint:errcheck
	}, nil
}

// RescuedJob is a job an earlier process of this node left running.
type RescuedJob struct {
	ID      int64
	Kind    string
	Attempt int
	State   string // available (retried now) or discarded (it had no attempt left)
}

// RescueOrphanedJobs makes the jobs that the node's previous process was
// working (state running, last attempted by nodeID) available again, or
// discards those without an attempt left, noting why in the job's errors; a
// discarded draft marks its study draft_failed. Call it only while holding
// ClaimNodeID's lock: then no live process is working them.
func (s *Store) RescueOrphanedJobs(ctx context.Context, nodeID string) ([]RescuedJob, error) {
	var out []RescuedJob
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE river_job SET
				state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END::river_job_state,
				scheduled_at = now(),
				finalized_at = CASE WHEN attempt >= max_attempts THEN now() END,
				errors = array_append(errors, jsonb_build_object('at', now(), 'attempt', attempt, 'trace', '',
					'error', 'the process working this attempt ended (rescued at the start of node ' || $1 || ')'))
			WHERE state = 'running' AND attempted_by[cardinality(attempted_by)] = $1
			RETURNING id, kind, attempt, state::text, CASE WHEN kind = 'draft_study' THEN args->>'study_uid' END`, nodeID)
		if err != nil {
			return err
		}
		var failedStudies []string
		for rows.Next() {
			var j RescuedJob
			var study *string
			if err := rows.Scan(&j.ID, &j.Kind, &j.Attempt, &j.State, &study); err != nil {
				return err
			}
			if j.State == "discarded" && study != nil {
				failedStudies = append(failedStudies, *study)
			}
			out = append(out, j)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE studies SET state = 'draft_failed', updated_at = now(),
			state_reason = 'drafting failed: the worker process ended during the last attempt'
			WHERE study_uid = ANY($1::text[]) AND state = 'drafting'`, failedStudies)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("drafts: rescue orphaned jobs: %w", err)
	}
	return out, nil
}
