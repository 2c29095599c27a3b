package drafts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/audit"
	"github.com/radraft/radraft/ingest"
	"github.com/radraft/radraft/internal/pgexec"
)

// Study states of the ingest part of the state machine. A study is
// "receiving" while instances arrive (IndexInstance puts a settled study
// back there); once quiet it is settled in one transaction straight to
// "ready" (a frontal image chosen, draft_study queued) or "needs_view" (a
// person must pick the frontal image with ChooseFrontal). "settled" exists in
// the schema's vocabulary but is never left visible: settling and the view
// decision commit together.
const (
	StateReceiving = "receiving"
	StateNeedsView = "needs_view"
	StateReady     = "ready"
)

var (
	// ErrInstanceNotInStudy: ChooseFrontal was given an instance of another
	// study, or none.
	ErrInstanceNotInStudy = errors.New("drafts: instance is not part of the study")
	// ErrNotAnImage: ChooseFrontal was given an object without pixels (SR,
	// KOS, presentation state).
	ErrNotAnImage = errors.New("drafts: instance is not an image")
	// ErrStudyState: the study's state does not allow the change (e.g. a
	// view decision while its images are still arriving or being drafted).
	ErrStudyState = errors.New("drafts: study state does not allow this")
)

// SettleNext claims one study that has been receiving with no new instance
// for at least quiet (measured on the database clock, so nodes with skewed
// clocks agree), asks decide for its frontal image, and records the answer
// in the same transaction: state ready + frontal + a draft_study job, or
// state needs_view. The row is locked FOR UPDATE SKIP LOCKED, so several
// nodes can run settlers side by side without settling a study twice, and
// an instance indexed meanwhile waits for the commit and then sends the
// study back to receiving. Studies in skip are passed over (a caller's
// back-off for studies that just failed, so that one cannot hold up the
// rest). It returns nil, nil when no study is due; a failure after a study
// was claimed is a *ingest.SettleError naming it.
func (s *Store) SettleNext(ctx context.Context, quiet time.Duration, skip []string,
	decide func(context.Context, *ingest.SettlingStudy) (ingest.ViewDecision, error)) (*ingest.Settled, error) {
	res, uid, err := s.settleNext(ctx, quiet, skip, decide)
	if err != nil && uid != "" {
		return nil, &ingest.SettleError{StudyUID: uid, Err: err}
	}
	return res, err
}

func (s *Store) settleNext(ctx context.Context, quiet time.Duration, skip []string,
	decide func(context.Context, *ingest.SettlingStudy) (ingest.ViewDecision, error)) (*ingest.Settled, string, error) {
	if skip == nil {
		skip = []string{}
	}
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("drafts: settle: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	st := &ingest.SettlingStudy{}
	err = tx.QueryRow(ctx, `SELECT study_uid, study_description, first_received_at, last_received_at
		FROM studies
		WHERE state = 'receiving' AND last_received_at <= now() - make_interval(secs => $1)
			AND study_uid <> ALL($2)
		ORDER BY last_received_at
		LIMIT 1
		FOR UPDATE SKIP LOCKED`, quiet.Seconds(), skip).
		Scan(&st.StudyUID, &st.StudyDescription, &st.FirstReceivedAt, &st.LastReceivedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("drafts: settle: claim study: %w", err)
	}
	uid := st.StudyUID
	if st.Instances, err = settlingInstances(ctx, tx, st.StudyUID); err != nil {
		return nil, uid, err
	}
	d, err := decide(ctx, st)
	if err != nil {
		return nil, uid, err
	}
	res := &ingest.Settled{StudyUID: st.StudyUID, ViewDecision: d}
	if d.FrontalSOP != "" && !hasInstance(st.Instances, d.FrontalSOP) {
		return nil, uid, ErrInstanceNotInStudy
	}
	if res.JobInserted, err = s.applyView(ctx, tx, st.StudyUID, d, "settled"); err != nil {
		return nil, uid, err
	}
	res.State = StateNeedsView
	if d.FrontalSOP != "" {
		res.State = StateReady
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: "system", Action: "study.settle", StudyUID: st.StudyUID,
		ObjectRef: d.FrontalSOP, Detail: map[string]any{"state": res.State, "view_reason": d.Reason,
			"instances": len(st.Instances)}}); err != nil {
		return nil, uid, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, uid, fmt.Errorf("commit: %w", err)
	}
	return res, uid, nil
}

// applyView writes a view decision to a locked study row and, when a
// frontal image was chosen, queues its draft in the same transaction.
func (s *Store) applyView(ctx context.Context, tx pgx.Tx, studyUID string, d ingest.ViewDecision, jobReason string) (bool, error) {
	if d.FrontalSOP == "" {
		_, err := tx.Exec(ctx, `UPDATE studies SET state = 'needs_view', state_reason = $2, view_reason = $2,
			frontal_sop_instance_uid = NULL, settled_at = now(), updated_at = now() WHERE study_uid = $1`,
			studyUID, d.Reason)
		if err != nil {
			return false, fmt.Errorf("drafts: record view decision: %w", err)
		}
		return false, nil
	}
	// settled_at is when the images were last found complete: a settle sets
	// it, a person's later choice keeps it. A person's choice is a new
	// draft generation (see DraftStudyArgs); a settle keeps the current one,
	// so that settling again while its job waits queues nothing more.
	settled := jobReason == "settled"
	var gen int64
	err := tx.QueryRow(ctx, `UPDATE studies SET state = 'ready', state_reason = '', view_reason = $3,
		frontal_sop_instance_uid = $2,
		settled_at = CASE WHEN $4 OR settled_at IS NULL THEN now() ELSE settled_at END, updated_at = now(),
		draft_generation = draft_generation + CASE WHEN $4 THEN 0 ELSE 1 END
		WHERE study_uid = $1 RETURNING draft_generation`, studyUID, d.FrontalSOP, d.Reason, settled).Scan(&gen)
	if err != nil {
		return false, fmt.Errorf("drafts: record view decision: %w", err)
	}
	if s.River == nil {
		return false, fmt.Errorf("drafts: no job queue to enqueue the draft")
	}
	r, err := s.River.InsertTx(ctx, tx, DraftStudyArgs{StudyUID: studyUID, Reason: jobReason, Generation: gen}, nil)
	if err != nil {
		return false, fmt.Errorf("drafts: enqueue draft: %w", err)
	}
	return !r.UniqueSkippedAsDuplicate, nil
}

func settlingInstances(ctx context.Context, tx pgexec.Executor, studyUID string) ([]ingest.SettlingInstance, error) {
	rows, err := tx.Query(ctx, `SELECT i.sop_instance_uid, i.sop_class_uid, i.series_uid, COALESCE(se.series_description, ''),
			COALESCE(se.modality, ''), i.instance_number, i.transfer_syntax_uid, i.path, i.view_position, i.view_code, i.image_laterality,
			i.photometric, i.rows_, i.columns_, i.received_at
		FROM instances i LEFT JOIN series se ON se.series_uid = i.series_uid
		WHERE i.study_uid = $1
		ORDER BY i.received_at, i.sop_instance_uid`, studyUID)
	if err != nil {
		return nil, fmt.Errorf("drafts: settle: instances: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ingest.SettlingInstance, error) {
		var i ingest.SettlingInstance
		err := r.Scan(&i.SOPInstanceUID, &i.SOPClassUID, &i.SeriesUID, &i.SeriesDescription, &i.Modality, &i.InstanceNumber,
			&i.TransferSyntaxUID, &i.Path, &i.ViewPosition, &i.ViewCode, &i.ImageLaterality, &i.Photometric,
			&i.Rows, &i.Columns, &i.ReceivedAt)
		return i, err
	})
	if err != nil {
		return nil, fmt.Errorf("drafts: settle: instances: %w", err)
	}
	return out, nil
}

func hasInstance(is []ingest.SettlingInstance, sop string) bool {
	for _, i := range is {
		if i.SOPInstanceUID == sop {
			return true
		}
	}
	return false
}

// ChooseFrontal records a person's view decision: sopInstanceUID (any
// image of the study, whatever the classifier made of it; ErrNotAnImage for
// an SR, KOS, presentation state or other object without pixels) becomes the frontal image, the study becomes ready
// and a draft_study job is queued, all in one transaction. It is allowed
// once the study has settled (needs_view, ready) and after drafting
// (drafted, draft_failed: the worker then re-drafts if the report is still
// an untouched AI draft); not while images arrive or a draft is running.
// actor is the username, for the reason and the audit log.
func (s *Store) ChooseFrontal(ctx context.Context, studyUID, sopInstanceUID, actor, remoteAddr string) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("drafts: choose frontal: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	var state string
	err = tx.QueryRow(ctx, `SELECT state FROM studies WHERE study_uid = $1 FOR UPDATE`, studyUID).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrStudyNotFound
	}
	if err != nil {
		return fmt.Errorf("drafts: choose frontal: %w", err)
	}
	switch state {
	case StateNeedsView, StateReady, stateDrafted, stateDraftFailed:
	default:
		return fmt.Errorf("%w: study is %s", ErrStudyState, state)
	}
	var rows int
	err = tx.QueryRow(ctx, `SELECT rows_ FROM instances WHERE study_uid = $1 AND sop_instance_uid = $2`,
		studyUID, sopInstanceUID).Scan(&rows)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrInstanceNotInStudy
	}
	if err != nil {
		return fmt.Errorf("drafts: choose frontal: %w", err)
	}
	if rows <= 0 {
		return ErrNotAnImage
	}
	d := ingest.ViewDecision{FrontalSOP: sopInstanceUID, Reason: "chosen by " + actor}
	if _, err := s.applyView(ctx, tx, studyUID, d, "requested"); err != nil {
		return err
	}
	if err := audit.Write(ctx, tx, audit.Entry{Actor: actor, Action: "study.choose_frontal", StudyUID: studyUID,
		ObjectRef: sopInstanceUID, RemoteAddr: remoteAddr, Detail: map[string]any{"previous_state": state}}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("drafts: choose frontal: commit: %w", err)
	}
	return nil
}

// StudyInstances lists a study's instances as the settler sees them (for a
// view picker in the UI and for tests).
func (s *Store) StudyInstances(ctx context.Context, studyUID string) ([]ingest.SettlingInstance, error) {
	return settlingInstances(ctx, s.db, studyUID) // one query: its own snapshot
}
