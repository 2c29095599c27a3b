package drafts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/audit"
)

// Report statuses.
const (
	ReportDraft   = "draft"   // the AI draft, or edits not yet signed
	ReportSigned  = "signed"  // final: immutable
	ReportAmended = "amended" // signed, then amended (still immutable)
)

// Version kinds.
const (
	VersionAIDraft = "ai_draft"
	VersionEdit    = "edit"
	VersionSign    = "sign"
	VersionAmend   = "amend"
)

// Errors of report review.
var (
	// ErrNoReport: the study has no report yet (no AI draft).
	// (ErrReportSigned, in drafting.go, refuses a change of a signed report
	// other than an amendment; ErrStudyNotFound names an unknown study.)
	ErrNoReport = errors.New("drafts: no report for this study")
	// ErrReportNotSigned refuses an amendment of a report not yet signed.
	ErrReportNotSigned = errors.New("drafts: report is not signed; edit it instead")
	ErrEmptyReport     = errors.New("drafts: report text is empty")
	ErrNoReason        = errors.New("drafts: an amendment needs a reason")
)

// VersionConflictError is returned when a change names a version that is no
// longer current; Current is the report as it now stands.
type VersionConflictError struct {
	Expected int
	Current  *Report
}

func (e *VersionConflictError) Error() string {
	return fmt.Sprintf("drafts: report changed: expected version %d, current is %d", e.Expected, e.Current.CurrentVersion)
}

// ReportVersion is one version of a report's text. Findings is PHI.
type ReportVersion struct {
	Version           int             `json:"version"`
	Kind              string          `json:"kind"`
	Author            string          `json:"author"`
	Findings          string          `json:"findings"`
	Reason            string          `json:"reason,omitempty"`
	ModelName         string          `json:"model_name,omitempty"`
	ModelVersion      string          `json:"model_version,omitempty"`
	Indication        string          `json:"indication,omitempty"`
	IndicationSource  string          `json:"indication_source,omitempty"`
	AcceptedSentences []string        `json:"accepted_sentences"`
	Timings           json.RawMessage `json:"timings,omitempty"`
	// Demo: made by a demo model bundle (model.json "demo": true), whose text
	// is meaningless; the UI must say so.
	Demo      bool      `json:"demo"`
	CreatedAt time.Time `json:"created_at"`
}

// Report is a study's report with every version, oldest first.
type Report struct {
	ID             string          `json:"id"`
	StudyUID       string          `json:"study_uid"`
	Status         string          `json:"status"`
	CurrentVersion int             `json:"current_version"`
	AIVersion      *int            `json:"ai_version"`
	SignedVersion  *int            `json:"signed_version"`
	SignedBy       string          `json:"signed_by,omitempty"`
	SignedAt       *time.Time      `json:"signed_at,omitempty"`
	UpdatedAt      time.Time       `json:"updated_at"`
	Versions       []ReportVersion `json:"versions"`
}

// Version returns version n, or nil.
func (r *Report) Version(n int) *ReportVersion {
	for i := range r.Versions {
		if r.Versions[i].Version == n {
			return &r.Versions[i]
		}
	}
	return nil
}

// Current is the current version (nil for a report without versions).
func (r *Report) Current() *ReportVersion { return r.Version(r.CurrentVersion) }

// AIDraft is the latest AI draft version (nil when there is none).
func (r *Report) AIDraft() *ReportVersion {
	if r.AIVersion == nil {
		return nil
	}
	return r.Version(*r.AIVersion)
}

// Final reports whether the report is signed (signed or amended).
func (r *Report) Final() bool { return r.Status == ReportSigned || r.Status == ReportAmended }

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// ReportForStudy returns the report of a study with its versions.
func (s *Store) ReportForStudy(ctx context.Context, studyUID string) (*Report, error) {
	return loadReport(ctx, s.db, studyUID, false)
}

func loadReport(ctx context.Context, q querier, studyUID string, lock bool) (*Report, error) {
	var r Report
	sql := `SELECT id::text, study_uid, status, current_version, ai_version, signed_version, COALESCE(signed_by,''), signed_at, updated_at
		FROM reports WHERE study_uid=$1`
	if lock {
		sql += ` FOR UPDATE`
	}
	err := q.QueryRow(ctx, sql, studyUID).Scan(&r.ID, &r.StudyUID, &r.Status, &r.CurrentVersion, &r.AIVersion,
		&r.SignedVersion, &r.SignedBy, &r.SignedAt, &r.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoReport
	}
	if err != nil {
		return nil, fmt.Errorf("drafts: report: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT version, kind, author, findings, reason, model_name, model_version, indication,
		indication_source, accepted_sentences, timings, COALESCE((timings->>'demo')::boolean, false), created_at
		FROM report_versions WHERE report_id=$1 ORDER BY version`, r.ID)
	if err != nil {
		return nil, fmt.Errorf("drafts: report versions: %w", err)
	}
	r.Versions, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (ReportVersion, error) {
		var v ReportVersion
		var timings []byte
		err := row.Scan(&v.Version, &v.Kind, &v.Author, &v.Findings, &v.Reason, &v.ModelName, &v.ModelVersion,
			&v.Indication, &v.IndicationSource, &v.AcceptedSentences, &timings, &v.Demo, &v.CreatedAt)
		if v.AcceptedSentences == nil {
			v.AcceptedSentences = []string{}
		}
		if len(timings) > 0 && string(timings) != "{}" {
			v.Timings = timings
		}
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("drafts: report versions: %w", err)
	}
	return &r, nil
}

// ReportChange is a change of a report asked for by a user.
type ReportChange struct {
	StudyUID string
	// IfVersion is the version the change was made against (from the ETag);
	// 0 skips the check (only for integrations that opt out explicitly).
	IfVersion int
	Findings  string
	// Accepted lists the AI sentences the user accepted unchanged; nil keeps
	// the current version's list.
	Accepted   []string
	Reason     string
	Actor      string
	RemoteAddr string
}

// reportTx runs fn on the locked report of c.StudyUID after the version check.
func (s *Store) reportTx(ctx context.Context, c ReportChange, fn func(tx pgx.Tx, r *Report) error) (*Report, error) {
	var out *Report
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		r, err := loadReport(ctx, tx, c.StudyUID, true)
		if err != nil {
			return err
		}
		if c.IfVersion != 0 && c.IfVersion != r.CurrentVersion {
			return &VersionConflictError{Expected: c.IfVersion, Current: r}
		}
		if err := fn(tx, r); err != nil {
			return err
		}
		out, err = loadReport(ctx, tx, c.StudyUID, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) addVersion(ctx context.Context, tx pgx.Tx, r *Report, kind string, c ReportChange, accepted []string) (int, error) {
	if accepted == nil {
		accepted = []string{}
	}
	acc, _ := json.Marshal(accepted)
	v := r.CurrentVersion + 1
	if _, err := tx.Exec(ctx, `INSERT INTO report_versions (report_id, version, kind, author, findings, reason, accepted_sentences)
		VALUES ($1,$2,$3,$4,$5,$6,$7)`, r.ID, v, kind, c.Actor, c.Findings, c.Reason, acc); err != nil {
		return 0, fmt.Errorf("drafts: add version: %w", err)
	}
	return v, nil
}

func (c ReportChange) currentAccepted(r *Report) []string {
	if c.Accepted != nil {
		return c.Accepted
	}
	if cur := r.Current(); cur != nil {
		return cur.AcceptedSentences
	}
	return nil
}

// EditReport saves new text of an unsigned report as a new version (kind
// edit) and audits it, in one transaction. Empty (or blank) text is
// ErrEmptyReport: a report is never saved without findings. A signed report gives
// ErrReportSigned; a stale IfVersion a *VersionConflictError.
func (s *Store) EditReport(ctx context.Context, c ReportChange) (*Report, error) {
	if strings.TrimSpace(c.Findings) == "" {
		return nil, ErrEmptyReport
	}
	return s.reportTx(ctx, c, func(tx pgx.Tx, r *Report) error {
		if r.Final() {
			return ErrReportSigned
		}
		v, err := s.addVersion(ctx, tx, r, VersionEdit, c, c.currentAccepted(r))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE reports SET current_version=$2, updated_at=now() WHERE id=$1`, r.ID, v); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{Actor: c.Actor, Action: "report.edit", StudyUID: r.StudyUID,
			ObjectRef: fmt.Sprintf("report:%s/v%d", r.ID, v), RemoteAddr: c.RemoteAddr,
			Detail: map[string]any{"version": v, "chars": len([]rune(c.Findings))}})
	})
}

// SignReport makes the report final: a new version (kind sign) holding
// c.Findings (or the current text when empty), status signed. In the same
// transaction it queues the CheXprompt evaluation (AI draft vs the signed
// text), an outbox row for the ORU^R01 to the RIS (when withOutbox), and
// the audit row.
func (s *Store) SignReport(ctx context.Context, c ReportChange, withOutbox bool) (*Report, error) {
	return s.reportTx(ctx, c, func(tx pgx.Tx, r *Report) error {
		if r.Final() {
			return ErrReportSigned
		}
		if c.Findings == "" {
			if cur := r.Current(); cur != nil {
				c.Findings = cur.Findings
			}
		}
		if strings.TrimSpace(c.Findings) == "" {
			return ErrEmptyReport
		}
		c.Reason = ""
		v, err := s.addVersion(ctx, tx, r, VersionSign, c, c.currentAccepted(r))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE reports SET current_version=$2, status='signed', signed_version=$2,
			signed_by=$3, signed_at=now(), updated_at=now() WHERE id=$1`, r.ID, v, c.Actor); err != nil {
			return err
		}
		return s.afterFinal(ctx, tx, r, v, "report.sign", c, withOutbox)
	})
}

// AmendReport changes a signed report: a new version (kind amend) with a
// reason; the report stays final (status amended) and the amendment is the
// signed version. It queues an evaluation and an ORU like SignReport.
func (s *Store) AmendReport(ctx context.Context, c ReportChange, withOutbox bool) (*Report, error) {
	if strings.TrimSpace(c.Reason) == "" {
		return nil, ErrNoReason
	}
	if strings.TrimSpace(c.Findings) == "" {
		return nil, ErrEmptyReport
	}
	return s.reportTx(ctx, c, func(tx pgx.Tx, r *Report) error {
		if !r.Final() {
			return ErrReportNotSigned
		}
		v, err := s.addVersion(ctx, tx, r, VersionAmend, c, c.currentAccepted(r))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE reports SET current_version=$2, status='amended', signed_version=$2,
			signed_by=$3, signed_at=now(), updated_at=now() WHERE id=$1`, r.ID, v, c.Actor); err != nil {
			return err
		}
		return s.afterFinal(ctx, tx, r, v, "report.amend", c, withOutbox)
	})
}

func (s *Store) afterFinal(ctx context.Context, tx pgx.Tx, r *Report, v int, action string, c ReportChange, withOutbox bool) error {
	if r.AIVersion != nil {
		if _, err := s.River.InsertTx(ctx, tx, EvaluateReportArgs{ReportID: r.ID, ReferenceVersion: v}, nil); err != nil {
			return fmt.Errorf("drafts: queue evaluation: %w", err)
		}
	}
	if withOutbox {
		if err := enqueueOutbox(ctx, tx, OutboxORU, r.ID, v, r.StudyUID); err != nil {
			return err
		}
	}
	if err := s.enqueueSR(ctx, tx, OutboxSR, r.ID, v, r.StudyUID); err != nil {
		return err
	}
	detail := map[string]any{"version": v, "outbox": withOutbox}
	if c.Reason != "" {
		detail["reason_chars"] = len([]rune(c.Reason))
	}
	return audit.Write(ctx, tx, audit.Entry{Actor: c.Actor, Action: action, StudyUID: r.StudyUID,
		ObjectRef: fmt.Sprintf("report:%s/v%d", r.ID, v), RemoteAddr: c.RemoteAddr, Detail: detail})
}

// RequestRedraft queues a new AI draft (DraftStudyArgs reason "requested")
// of a study whose report is neither signed nor edited (ErrReportSigned,
// ErrReportEdited), and audits it. It returns false
// when a draft job of the study was already pending.
func (s *Store) RequestRedraft(ctx context.Context, studyUID, actor, remoteAddr string) (bool, error) {
	queued := false
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		// The study row is locked first, as ChooseFrontal does, so the two
		// serialise; the request is a new draft generation (DraftStudyArgs).
		var gen int64
		err := tx.QueryRow(ctx, `SELECT draft_generation FROM studies WHERE study_uid=$1 FOR UPDATE`, studyUID).Scan(&gen)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrStudyNotFound
		}
		if err != nil {
			return err
		}
		// Only a report nobody has edited since its AI draft may be
		// re-drafted: the worker would refuse to bury a radiologist's text.
		t := DraftTarget{}
		var ai *int
		err = tx.QueryRow(ctx, `SELECT id::text, status, current_version, ai_version FROM reports WHERE study_uid=$1 FOR UPDATE`,
			studyUID).Scan(&t.ReportID, &t.ReportStatus, &t.CurrentVersion, &ai)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if ai != nil {
			t.AIVersion = *ai
		}
		if err := t.Redraftable(); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE studies SET draft_generation = $2, updated_at = now() WHERE study_uid = $1`,
			studyUID, gen+1); err != nil {
			return err
		}
		res, err := s.River.InsertTx(ctx, tx, DraftStudyArgs{StudyUID: studyUID, Reason: "requested", Generation: gen + 1}, nil)
		if err != nil {
			return fmt.Errorf("drafts: queue re-draft: %w", err)
		}
		queued = !res.UniqueSkippedAsDuplicate
		return audit.Write(ctx, tx, audit.Entry{Actor: actor, Action: "report.redraft", StudyUID: studyUID,
			ObjectRef: fmt.Sprintf("job:%d", res.Job.ID), RemoteAddr: remoteAddr, Detail: map[string]any{"queued": queued}})
	})
	return queued, err
}
