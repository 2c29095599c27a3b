package qa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/audit"
	"github.com/radraft/radraft/chexprompt"
	"github.com/radraft/radraft/drafts"
)

// EvaluationErrorTypes are CheXprompt's six error types in order (A-F), by
// chexprompt's names (its ErrorTypes is the one list); each is a count
// column (sig_* and insig_*).
var EvaluationErrorTypes = func() []string {
	out := make([]string, len(chexprompt.ErrorTypes))
	for i, t := range chexprompt.ErrorTypes {
		out[i] = string(t)
	}
	return out
}()

// ErrNoAIDraft: the report has no AI draft to evaluate.
var ErrNoAIDraft = errors.New("qa: report has no AI draft")

// ErrEvaluationNotFound names an unknown evaluation or report version.
var ErrEvaluationNotFound = errors.New("qa: evaluation or report version not found")

// EvaluationInput is what an evaluation of a report needs: the AI draft
// (candidate), the reference version, and the identifiers to strip from both
// texts before they leave. Everything here but the version numbers is PHI.
type EvaluationInput struct {
	ReportID         string
	StudyUID         string
	CandidateVersion int
	ReferenceVersion int
	Candidate        string
	Reference        string
	ModelName        string
	ModelVersion     string
	ReferenceAt      time.Time

	PatientName      string
	PatientID        string
	AccessionNumber  string
	PatientBirthDate string
}

// LoadEvaluationInput reads the AI draft (reports.ai_version) and the
// reference version of a report; referenceVersion 0 means the signed one.
func (s *Store) LoadEvaluationInput(ctx context.Context, reportID string, referenceVersion int) (*EvaluationInput, error) {
	in := &EvaluationInput{ReportID: reportID}
	var ai, signed *int
	err := s.db.QueryRow(ctx, `SELECT r.study_uid, r.ai_version, r.signed_version, s.patient_name, s.patient_id,
			s.accession_number, s.patient_birth_date
		FROM reports r JOIN studies s USING (study_uid) WHERE r.id=$1::uuid`, reportID).
		Scan(&in.StudyUID, &ai, &signed, &in.PatientName, &in.PatientID, &in.AccessionNumber, &in.PatientBirthDate)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, drafts.ErrNoReport
	}
	if err != nil {
		return nil, fmt.Errorf("qa: evaluation input: %w", err)
	}
	if ai == nil {
		return nil, ErrNoAIDraft
	}
	in.CandidateVersion = *ai
	if referenceVersion == 0 {
		if signed == nil {
			return nil, drafts.ErrReportNotSigned
		}
		referenceVersion = *signed
	}
	in.ReferenceVersion = referenceVersion
	err = s.db.QueryRow(ctx, `SELECT findings, model_name, model_version FROM report_versions WHERE report_id=$1::uuid AND version=$2`,
		reportID, in.CandidateVersion).Scan(&in.Candidate, &in.ModelName, &in.ModelVersion)
	if err == nil {
		err = s.db.QueryRow(ctx, `SELECT findings, created_at FROM report_versions WHERE report_id=$1::uuid AND version=$2`,
			reportID, referenceVersion).Scan(&in.Reference, &in.ReferenceAt)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrEvaluationNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("qa: evaluation input: %w", err)
	}
	return in, nil
}

// NewEvaluation is a scored pair to store. Result is the evaluator's whole
// result as JSON (the chexprompt.Result shape).
type NewEvaluation struct {
	Engine        string
	JudgeModel    string
	Note          string
	Significant   map[string]int
	Insignificant map[string]int
	Result        json.RawMessage
	Raw           string
}

// SignificantTotal sums the significant counts.
func (e NewEvaluation) SignificantTotal() int {
	n := 0
	for _, t := range EvaluationErrorTypes {
		n += e.Significant[t]
	}
	return n
}

// SavedEvaluation says what SaveEvaluation stored.
type SavedEvaluation struct {
	EvaluationID int64
	// FlagID is the QA flag of the evaluation (0 when it has no clinically
	// significant error); FlagCreated is true when this call raised it.
	FlagID      int64
	FlagCreated bool
}

// SaveEvaluation stores the evaluation of in (replacing an earlier one of
// the same version pair, so a retried job is harmless) and, when it has a
// clinically significant error, raises a QA flag; an open flag of an
// evaluation that no longer has one is withdrawn. One transaction, audited.
func (s *Store) SaveEvaluation(ctx context.Context, in *EvaluationInput, e NewEvaluation) (SavedEvaluation, error) {
	var out SavedEvaluation
	result := e.Result
	if len(result) == 0 {
		result = json.RawMessage("{}")
	}
	args := []any{in.ReportID, in.StudyUID, in.CandidateVersion, in.ReferenceVersion, in.ModelName, in.ModelVersion,
		e.Engine, e.JudgeModel, e.Note, result, e.Raw, in.ReferenceAt}
	cols := ""
	vals := ""
	sets := ""
	for i, t := range EvaluationErrorTypes {
		args = append(args, e.Significant[t], e.Insignificant[t])
		cols += fmt.Sprintf(", sig_%s, insig_%s", t, t)
		vals += fmt.Sprintf(", $%d, $%d", 13+2*i, 14+2*i)
		sets += fmt.Sprintf(", sig_%s=EXCLUDED.sig_%s, insig_%s=EXCLUDED.insig_%s", t, t, t, t)
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO evaluations (report_id, study_uid, candidate_version, reference_version,
				model_name, model_version, engine, judge_model, note, result, raw, reference_at`+cols+`)
			VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12`+vals+`)
			ON CONFLICT (report_id, candidate_version, reference_version) DO UPDATE SET
				model_name=EXCLUDED.model_name, model_version=EXCLUDED.model_version, engine=EXCLUDED.engine,
				judge_model=EXCLUDED.judge_model, note=EXCLUDED.note, result=EXCLUDED.result, raw=EXCLUDED.raw,
				reference_at=EXCLUDED.reference_at, updated_at=now()`+sets+`
			RETURNING id`, args...).Scan(&out.EvaluationID)
		if err != nil {
			return err
		}
		ref := fmt.Sprintf("evaluation:%d", out.EvaluationID)
		if e.SignificantTotal() > 0 {
			err := tx.QueryRow(ctx, `INSERT INTO qa_flags (evaluation_id, report_id, study_uid) VALUES ($1, $2::uuid, $3)
				ON CONFLICT (evaluation_id) DO NOTHING RETURNING id`, out.EvaluationID, in.ReportID, in.StudyUID).Scan(&out.FlagID)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				if err := tx.QueryRow(ctx, `SELECT id FROM qa_flags WHERE evaluation_id=$1`, out.EvaluationID).Scan(&out.FlagID); err != nil {
					return err
				}
			case err != nil:
				return err
			default:
				out.FlagCreated = true
				if err := audit.Write(ctx, tx, audit.Entry{Actor: "system", Action: "qa.flag", StudyUID: in.StudyUID,
					ObjectRef: fmt.Sprintf("qa_flag:%d", out.FlagID),
					Detail:    map[string]any{"evaluation": out.EvaluationID, "significant": e.SignificantTotal(), "engine": e.Engine}}); err != nil {
					return err
				}
			}
		} else if _, err := tx.Exec(ctx, `DELETE FROM qa_flags WHERE evaluation_id=$1 AND status='open'`, out.EvaluationID); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{Actor: "system", Action: "report.evaluate", StudyUID: in.StudyUID, ObjectRef: ref,
			Detail: map[string]any{"report": in.ReportID, "candidate_version": in.CandidateVersion,
				"reference_version": in.ReferenceVersion, "engine": e.Engine, "judge_model": e.JudgeModel,
				"significant": e.SignificantTotal()}})
	})
	if err != nil {
		return SavedEvaluation{}, fmt.Errorf("qa: save evaluation: %w", err)
	}
	return out, nil
}

// Evaluation is a stored evaluation. Result and Raw quote report text (PHI).
type Evaluation struct {
	ID                 int64           `json:"id"`
	ReportID           string          `json:"report_id"`
	StudyUID           string          `json:"study_uid"`
	CandidateVersion   int             `json:"candidate_version"`
	ReferenceVersion   int             `json:"reference_version"`
	ModelName          string          `json:"model_name"`
	ModelVersion       string          `json:"model_version"`
	Engine             string          `json:"engine"`
	JudgeModel         string          `json:"judge_model"`
	Note               string          `json:"note,omitempty"`
	Significant        map[string]int  `json:"clinically_significant"`
	Insignificant      map[string]int  `json:"clinically_insignificant"`
	SignificantTotal   int             `json:"significant_total"`
	InsignificantTotal int             `json:"insignificant_total"`
	Result             json.RawMessage `json:"result"`
	Raw                string          `json:"raw"`
	ReferenceAt        time.Time       `json:"reference_at"`
	CreatedAt          time.Time       `json:"created_at"`
}

func evaluationColumns(prefix string) string {
	c := prefix + "id, " + prefix + "report_id::text, " + prefix + "study_uid, " + prefix + "candidate_version, " +
		prefix + "reference_version, " + prefix + "model_name, " + prefix + "model_version, " + prefix + "engine, " +
		prefix + "judge_model, " + prefix + "note, " + prefix + "significant_total, " + prefix + "insignificant_total, " +
		prefix + "result, " + prefix + "raw, " + prefix + "reference_at, " + prefix + "created_at"
	for _, t := range EvaluationErrorTypes {
		c += ", " + prefix + "sig_" + t + ", " + prefix + "insig_" + t
	}
	return c
}

func scanEvaluation(row pgx.Row, extra ...any) (*Evaluation, error) {
	var e Evaluation
	e.Significant, e.Insignificant = map[string]int{}, map[string]int{}
	counts := make([]int, 2*len(EvaluationErrorTypes))
	dest := []any{&e.ID, &e.ReportID, &e.StudyUID, &e.CandidateVersion, &e.ReferenceVersion, &e.ModelName, &e.ModelVersion,
		&e.Engine, &e.JudgeModel, &e.Note, &e.SignificantTotal, &e.InsignificantTotal, &e.Result, &e.Raw, &e.ReferenceAt, &e.CreatedAt}
	for i := range counts {
		dest = append(dest, &counts[i])
	}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	for i, t := range EvaluationErrorTypes {
		e.Significant[t], e.Insignificant[t] = counts[2*i], counts[2*i+1]
	}
	return &e, nil
}

// EvaluationByID returns one evaluation.
func (s *Store) EvaluationByID(ctx context.Context, id int64) (*Evaluation, error) {
	e, err := scanEvaluation(s.db.QueryRow(ctx, `SELECT `+evaluationColumns("")+` FROM evaluations WHERE id=$1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrEvaluationNotFound
	}
	return e, err
}

// EvaluationsForReport lists a report's evaluations, newest reference first.
func (s *Store) EvaluationsForReport(ctx context.Context, reportID string) ([]*Evaluation, error) {
	rows, err := s.db.Query(ctx, `SELECT `+evaluationColumns("")+` FROM evaluations WHERE report_id=$1::uuid
		ORDER BY reference_version DESC, id DESC`, reportID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Evaluation
	for rows.Next() {
		e, err := scanEvaluation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
