package drafts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/audit"
)

// Study states of the drafting part of the state machine
// (ready -> drafting -> drafted | draft_failed).
const (
	stateDrafting    = "drafting"
	stateDrafted     = "drafted"
	stateDraftFailed = "draft_failed"
)

var (
	// ErrStudyNotFound: no study row with that UID.
	ErrStudyNotFound = errors.New("drafts: study not found")
	// ErrReportSigned: the report is signed (or amended); an AI draft can no
	// longer replace its text.
	ErrReportSigned = errors.New("drafts: report already signed")
	// ErrReportEdited: a radiologist edited the AI draft; a re-draft would
	// bury their text, so it is not stored.
	ErrReportEdited = errors.New("drafts: report edited since the AI draft")
	// ErrSuperseded: a newer draft request (a higher draft generation) was
	// made while this job ran; its job drafts, this one writes nothing.
	ErrSuperseded = errors.New("drafts: superseded by a newer draft request")
)

// DraftTarget is what the draft worker needs to know about a study.
type DraftTarget struct {
	StudyUID string
	State    string
	// FrontalSOP and FrontalPath (relative to the storage dir) name the image
	// to draft from; empty when the study has no frontal image.
	FrontalSOP  string
	FrontalPath string
	SettledAt   time.Time // zero when not recorded
	// The study's report, when one exists.
	ReportID       string
	ReportStatus   string
	CurrentVersion int
	AIVersion      int // 0: no AI draft yet
	// AIIndication is the indication the latest AI draft was made with.
	AIIndication string
	// Generation is the study's draft generation (see DraftStudyArgs).
	Generation int64
}

// DraftTarget loads the study's drafting facts.
func (s *Store) DraftTarget(ctx context.Context, studyUID string) (*DraftTarget, error) {
	t := &DraftTarget{StudyUID: studyUID}
	var settled *time.Time
	var frontal, path, reportID, status *string
	var cur, ai *int
	var aiIndication *string
	err := s.db.QueryRow(ctx, `
		SELECT st.state, st.frontal_sop_instance_uid, i.path, st.settled_at, st.draft_generation,
		       r.id::text, r.status, r.current_version, r.ai_version, v.indication
		FROM studies st
		LEFT JOIN instances i ON i.sop_instance_uid = st.frontal_sop_instance_uid
		LEFT JOIN reports r ON r.study_uid = st.study_uid
		LEFT JOIN report_versions v ON v.report_id = r.id AND v.version = r.ai_version
		WHERE st.study_uid = $1`, studyUID).Scan(&t.State, &frontal, &path, &settled, &t.Generation, &reportID, &status, &cur, &ai, &aiIndication)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrStudyNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("drafts: draft target: %w", err)
	}
	if frontal != nil && path != nil {
		t.FrontalSOP, t.FrontalPath = *frontal, *path
	}
	if settled != nil {
		t.SettledAt = *settled
	}
	if reportID != nil {
		t.ReportID, t.ReportStatus, t.CurrentVersion = *reportID, *status, *cur
		if ai != nil {
			t.AIVersion = *ai
		}
		if aiIndication != nil {
			t.AIIndication = *aiIndication
		}
	}
	return t, nil
}

// Redraftable says whether a new AI draft may be stored: no report yet, or
// an unsigned one nobody has edited since its AI draft.
func (t *DraftTarget) Redraftable() error {
	switch {
	case t.ReportID == "":
		return nil
	case t.ReportStatus != "draft":
		return ErrReportSigned
	case t.CurrentVersion != t.AIVersion:
		return ErrReportEdited
	}
	return nil
}

// The state changes below are made by the draft job of generation gen
// (DraftStudyArgs.Generation) and refused with ErrSuperseded when a newer
// request has bumped the study's generation since.

// MarkDrafting records that the model is working on the study.
func (s *Store) MarkDrafting(ctx context.Context, studyUID string, gen int64) error {
	return s.setStudyState(ctx, studyUID, gen, stateDrafting, "")
}

// MarkDraftFailed records a permanent drafting failure with a readable
// reason (which must not carry PHI: it is shown in lists and may reach logs).
func (s *Store) MarkDraftFailed(ctx context.Context, studyUID string, gen int64, reason string) error {
	return s.setStudyState(ctx, studyUID, gen, stateDraftFailed, reason)
}

// MarkDraftRetrying puts a study whose drafting attempt failed transiently
// back to ready, with a readable reason, while the job waits to retry.
func (s *Store) MarkDraftRetrying(ctx context.Context, studyUID string, gen int64, reason string) error {
	return s.setStudyState(ctx, studyUID, gen, "ready", reason)
}

func (s *Store) setStudyState(ctx context.Context, studyUID string, gen int64, state, reason string) error {
	var current int64
	err := s.db.QueryRow(ctx, `UPDATE studies SET state = CASE WHEN draft_generation <= $4 THEN $2 ELSE state END,
			state_reason = CASE WHEN draft_generation <= $4 THEN $3 ELSE state_reason END,
			updated_at = CASE WHEN draft_generation <= $4 THEN now() ELSE updated_at END
		WHERE study_uid=$1 RETURNING draft_generation`, studyUID, state, reason, gen).Scan(&current)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrStudyNotFound
	}
	if err != nil {
		return fmt.Errorf("drafts: set study state: %w", err)
	}
	if current > gen {
		return ErrSuperseded
	}
	return nil
}

// SetStudyReason changes only the readable reason (e.g. "waiting for the order").
func (s *Store) SetStudyReason(ctx context.Context, studyUID, reason string) error {
	_, err := s.db.Exec(ctx, `UPDATE studies SET state_reason=$2, updated_at=now() WHERE study_uid=$1`, studyUID, reason)
	if err != nil {
		return fmt.Errorf("drafts: set study reason: %w", err)
	}
	return nil
}

// AIDraft is one model output to store as a report version.
type AIDraft struct {
	StudyUID         string
	Findings         string
	ModelName        string
	ModelVersion     string
	Prompt           string
	Indication       string
	IndicationSource string
	// Timings and other non-PHI facts of the run (stage durations, token
	// counts, device, demo flag), stored as JSON.
	Timings map[string]any
	// Generation is the draft job's (DraftStudyArgs.Generation): the draft
	// is refused with ErrSuperseded when the study's is newer.
	Generation int64
}

// SaveAIDraft stores d as the study's AI draft: version 1 of a new report,
// or the next version of an unsigned, unedited one (a re-draft), and marks
// the study drafted, all in one transaction with its audit entry.
func (s *Store) SaveAIDraft(ctx context.Context, d AIDraft) (reportID string, version int, err error) {
	timings, err := json.Marshal(d.Timings)
	if err != nil {
		return "", 0, fmt.Errorf("drafts: timings: %w", err)
	}
	if d.Timings == nil {
		timings = []byte("{}")
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var gen int64
		err := tx.QueryRow(ctx, `SELECT draft_generation FROM studies WHERE study_uid=$1 FOR UPDATE`, d.StudyUID).Scan(&gen)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrStudyNotFound
		}
		if err != nil {
			return err
		}
		if gen > d.Generation {
			return ErrSuperseded
		}
		var status string
		var cur int
		var ai *int
		err = tx.QueryRow(ctx, `SELECT id::text, status, current_version, ai_version FROM reports WHERE study_uid=$1 FOR UPDATE`,
			d.StudyUID).Scan(&reportID, &status, &cur, &ai)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			reportID = uuid.NewString()
			version = 1
			if _, err := tx.Exec(ctx, `INSERT INTO reports (id, study_uid, status, current_version, ai_version)
				VALUES ($1, $2, 'draft', 1, 1)`, reportID, d.StudyUID); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			t := DraftTarget{ReportID: reportID, ReportStatus: status, CurrentVersion: cur}
			if ai != nil {
				t.AIVersion = *ai
			}
			if err := t.Redraftable(); err != nil {
				return err
			}
			version = cur + 1
			if _, err := tx.Exec(ctx, `UPDATE reports SET current_version=$2, ai_version=$2, updated_at=now() WHERE id=$1`,
				reportID, version); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO report_versions (report_id, version, kind, author, findings,
				model_name, model_version, prompt, indication, indication_source, timings)
			VALUES ($1, $2, 'ai_draft', 'ai', $3, $4, $5, $6, $7, $8, $9)`,
			reportID, version, d.Findings, d.ModelName, d.ModelVersion, d.Prompt, d.Indication, d.IndicationSource, timings); err != nil {
			return err
		}
		if s.SR.Drafts {
			if err := s.enqueueSR(ctx, tx, OutboxSRDraft, reportID, version, d.StudyUID); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `UPDATE studies SET state=$2, state_reason='', drafted_at=now(), updated_at=now() WHERE study_uid=$1`,
			d.StudyUID, stateDrafted)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrStudyNotFound
		}
		return audit.Write(ctx, tx, audit.Entry{Actor: "system", Action: "report.ai_draft", StudyUID: d.StudyUID,
			ObjectRef: "report:" + reportID, Detail: map[string]any{"version": version, "model": d.ModelName,
				"model_version": d.ModelVersion, "indication_source": d.IndicationSource}})
	})
	if err != nil {
		if errors.Is(err, ErrReportSigned) || errors.Is(err, ErrReportEdited) || errors.Is(err, ErrStudyNotFound) ||
			errors.Is(err, ErrSuperseded) {
			return "", 0, err
		}
		return "", 0, fmt.Errorf("drafts: save AI draft: %w", err)
	}
	return reportID, version, nil
}
