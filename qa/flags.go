package qa

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/audit"
)

// QA dispositions of a flag.
const (
	DispositionModelError = "model_error_confirmed"
	DispositionAcceptable = "acceptable"
	DispositionJudgeWrong = "judge_wrong"
)

// Dispositions lists the valid dispositions.
var Dispositions = []string{DispositionModelError, DispositionAcceptable, DispositionJudgeWrong}

// Flag statuses.
const (
	FlagOpen          = "open"
	FlagDispositioned = "dispositioned"
)

var (
	ErrFlagNotFound       = errors.New("qa: QA flag not found")
	ErrInvalidDisposition = errors.New("qa: disposition must be model_error_confirmed, acceptable or judge_wrong")
	ErrInvalidFilter      = errors.New("qa: invalid QA filter")
)

// Flag is a QA flag with the counts of its evaluation.
type Flag struct {
	ID                 int64          `json:"id"`
	EvaluationID       int64          `json:"evaluation_id"`
	ReportID           string         `json:"report_id"`
	StudyUID           string         `json:"study_uid"`
	AccessionNumber    string         `json:"accession_number"`
	Status             string         `json:"status"`
	Disposition        *string        `json:"disposition"`
	Note               string         `json:"note"`
	DisposedBy         *string        `json:"disposed_by"`
	DisposedAt         *time.Time     `json:"disposed_at"`
	CreatedAt          time.Time      `json:"created_at"`
	ModelName          string         `json:"model_name"`
	ModelVersion       string         `json:"model_version"`
	Engine             string         `json:"engine"`
	JudgeModel         string         `json:"judge_model"`
	SignedAt           time.Time      `json:"signed_at"`
	Significant        map[string]int `json:"clinically_significant"`
	Insignificant      map[string]int `json:"clinically_insignificant"`
	SignificantTotal   int            `json:"significant_total"`
	InsignificantTotal int            `json:"insignificant_total"`
	PatientName        string         `json:"patient_name"` // DICOM, else the order's (PHI)
	PatientID          string         `json:"patient_id"`
	SignedBy           string         `json:"signed_by"` // the radiologist who signed the reference text
}

// FlagDetail is a flag with both texts and the whole evaluation (PHI).
type FlagDetail struct {
	Flag
	AIFindings     string      `json:"ai_findings"`
	SignedFindings string      `json:"signed_findings"`
	Evaluation     *Evaluation `json:"evaluation"`
}

// FlagFilter selects flags (and, for the CSV export, evaluations). Zero
// values do not filter.
type FlagFilter struct {
	// ErrorType is one of EvaluationErrorTypes: flags whose evaluation has at
	// least one error of that type, of the Significance given (both when "").
	ErrorType    string
	Significance string // "significant", "insignificant" or ""
	ModelVersion string
	Status       string // open, dispositioned
	Disposition  string
	From, To     time.Time // signing time, To exclusive
	// AfterID pages: flags with a smaller id (newest first). Limit defaults to 50, at most 500.
	AfterID int64
	Limit   int
}

func (f FlagFilter) validate() error {
	if f.ErrorType != "" && !slices.Contains(EvaluationErrorTypes, f.ErrorType) {
		return fmt.Errorf("%w: error type %q", ErrInvalidFilter, f.ErrorType)
	}
	if f.Significance != "" && f.Significance != "significant" && f.Significance != "insignificant" {
		return fmt.Errorf("%w: significance %q", ErrInvalidFilter, f.Significance)
	}
	if f.Status != "" && f.Status != FlagOpen && f.Status != FlagDispositioned {
		return fmt.Errorf("%w: status %q", ErrInvalidFilter, f.Status)
	}
	if f.Disposition != "" && !slices.Contains(Dispositions, f.Disposition) {
		return fmt.Errorf("%w: disposition %q", ErrInvalidFilter, f.Disposition)
	}
	return nil
}

// where builds the filter's conditions on evaluations e (and flags q).
func (f FlagFilter) where(args *[]any, withFlag bool) string {
	var conds []string
	add := func(cond string, v any) {
		*args = append(*args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(*args))))
	}
	if f.ErrorType != "" { // validated against the fixed list: safe to splice
		switch f.Significance {
		case "significant":
			conds = append(conds, "e.sig_"+f.ErrorType+" > 0")
		case "insignificant":
			conds = append(conds, "e.insig_"+f.ErrorType+" > 0")
		default:
			conds = append(conds, "(e.sig_"+f.ErrorType+" + e.insig_"+f.ErrorType+") > 0")
		}
	} else if f.Significance == "insignificant" {
		conds = append(conds, "e.insignificant_total > 0")
	} else if f.Significance == "significant" {
		conds = append(conds, "e.significant_total > 0")
	}
	if f.ModelVersion != "" {
		add("e.model_version = ?", f.ModelVersion)
	}
	if !f.From.IsZero() {
		add("e.reference_at >= ?", f.From)
	}
	if !f.To.IsZero() {
		add("e.reference_at < ?", f.To)
	}
	if withFlag {
		if f.Status != "" {
			add("q.status = ?", f.Status)
		}
		if f.Disposition != "" {
			add("q.disposition = ?", f.Disposition)
		}
		if f.AfterID > 0 {
			add("q.id < ?", f.AfterID)
		}
	}
	if len(conds) == 0 {
		return "TRUE"
	}
	return strings.Join(conds, " AND ")
}

// flagColumns: the accession is the DICOM one, else the order's; the
// patient and the signing radiologist name the study for a QA lead.
const flagColumns = `q.id, q.evaluation_id, q.report_id::text, q.study_uid,
	COALESCE(NULLIF(s.accession_number, ''), s.order_accession_number, ''), q.status,
	q.disposition, q.note, q.disposed_by, q.disposed_at, q.created_at, e.model_name, e.model_version, e.engine,
	e.judge_model, e.reference_at, e.significant_total, e.insignificant_total,
	COALESCE(NULLIF(s.patient_name, ''), s.order_patient_name, ''), COALESCE(NULLIF(s.patient_id, ''), s.order_patient_id, ''),
	COALESCE((SELECT fr.signed_by FROM reports fr WHERE fr.id = q.report_id), '')`

func scanFlag(row pgx.Row, extra ...any) (*Flag, error) {
	var f Flag
	f.Significant, f.Insignificant = map[string]int{}, map[string]int{}
	counts := make([]int, 2*len(EvaluationErrorTypes))
	dest := []any{&f.ID, &f.EvaluationID, &f.ReportID, &f.StudyUID, &f.AccessionNumber, &f.Status, &f.Disposition, &f.Note,
		&f.DisposedBy, &f.DisposedAt, &f.CreatedAt, &f.ModelName, &f.ModelVersion, &f.Engine, &f.JudgeModel, &f.SignedAt,
		&f.SignificantTotal, &f.InsignificantTotal, &f.PatientName, &f.PatientID, &f.SignedBy}
	for i := range counts {
		dest = append(dest, &counts[i])
	}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	for i, t := range EvaluationErrorTypes {
		f.Significant[t], f.Insignificant[t] = counts[2*i], counts[2*i+1]
	}
	return &f, nil
}

func countColumns() string {
	var c string
	for _, t := range EvaluationErrorTypes {
		c += ", e.sig_" + t + ", e.insig_" + t
	}
	return c
}

// ListFlags returns flags, newest first, and the cursor (an id) of the next
// page ("" at the end).
func (s *Store) ListFlags(ctx context.Context, f FlagFilter) ([]*Flag, string, error) {
	if err := f.validate(); err != nil {
		return nil, "", err
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > 500 {
		f.Limit = 500
	}
	var args []any
	where := f.where(&args, true)
	args = append(args, f.Limit+1)
	rows, err := s.db.Query(ctx, `SELECT `+flagColumns+countColumns()+`
		FROM qa_flags q JOIN evaluations e ON e.id = q.evaluation_id LEFT JOIN studies s ON s.study_uid = q.study_uid
		WHERE `+where+` ORDER BY q.id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", fmt.Errorf("qa: list flags: %w", err)
	}
	defer rows.Close()
	out := []*Flag{}
	for rows.Next() {
		fl, err := scanFlag(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, fl)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = strconv.FormatInt(out[len(out)-1].ID, 10)
	}
	return out, next, nil
}

// FlagByID returns a flag with both texts and its evaluation.
func (s *Store) FlagByID(ctx context.Context, id int64) (*FlagDetail, error) {
	var d FlagDetail
	fl, err := scanFlag(s.db.QueryRow(ctx, `SELECT `+flagColumns+countColumns()+`,
			(SELECT findings FROM report_versions v WHERE v.report_id=e.report_id AND v.version=e.candidate_version),
			(SELECT findings FROM report_versions v WHERE v.report_id=e.report_id AND v.version=e.reference_version)
		FROM qa_flags q JOIN evaluations e ON e.id = q.evaluation_id LEFT JOIN studies s ON s.study_uid = q.study_uid
		WHERE q.id=$1`, id), &d.AIFindings, &d.SignedFindings)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrFlagNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("qa: flag: %w", err)
	}
	d.Flag = *fl
	if d.Evaluation, err = s.EvaluationByID(ctx, fl.EvaluationID); err != nil {
		return nil, err
	}
	return &d, nil
}

// DisposeFlag records a disposition (and note) of a flag; it may be changed
// later, each time audited. The note is free text (possibly PHI): the audit
// row keeps only its length.
func (s *Store) DisposeFlag(ctx context.Context, id int64, disposition, note, actor, remoteAddr string) (*FlagDetail, error) {
	if !slices.Contains(Dispositions, disposition) {
		return nil, ErrInvalidDisposition
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var study string
		var prev *string
		err := tx.QueryRow(ctx, `SELECT study_uid, disposition FROM qa_flags WHERE id=$1 FOR UPDATE`, id).Scan(&study, &prev)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrFlagNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE qa_flags SET status='dispositioned', disposition=$2, note=$3, disposed_by=$4,
			disposed_at=now() WHERE id=$1`, id, disposition, note, actor); err != nil {
			return err
		}
		detail := map[string]any{"disposition": disposition, "note_chars": len([]rune(note))}
		if prev != nil {
			detail["previous"] = *prev
		}
		return audit.Write(ctx, tx, audit.Entry{Actor: actor, Action: "qa.disposition", StudyUID: study,
			ObjectRef: fmt.Sprintf("qa_flag:%d", id), RemoteAddr: remoteAddr, Detail: detail})
	})
	if err != nil {
		if errors.Is(err, ErrFlagNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("qa: dispose flag: %w", err)
	}
	return s.FlagByID(ctx, id)
}

// WeekMetrics are the QA figures of one model version in one ISO week (of
// signing), over the latest evaluation of each report signed that week.
type WeekMetrics struct {
	Week         string `json:"week"` // ISO week, "2026-W48"
	WeekStart    string `json:"week_start"`
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	Evaluated    int    `json:"evaluated"`
	// FreeOfSignificant counts drafts without a clinically significant
	// error; ErrorFreeShare is that share (the paper's key figure).
	FreeOfSignificant int     `json:"free_of_significant"`
	ErrorFreeShare    float64 `json:"error_free"`
	Flagged           int     `json:"flagged"`
	// Mean errors per draft, per type and significance.
	MeanSignificant   map[string]float64 `json:"mean_significant"`
	MeanInsignificant map[string]float64 `json:"mean_insignificant"`
	// ByType is the mean count of both significances per type.
	ByType  map[string]float64 `json:"by_type"`
	Engines string             `json:"engines"`
}

// WeeklyMetrics returns metrics per model version and ISO week, oldest week
// first. Only ModelVersion, From and To of the filter apply.
func (s *Store) WeeklyMetrics(ctx context.Context, f FlagFilter) ([]WeekMetrics, error) {
	var args []any
	where := FlagFilter{ModelVersion: f.ModelVersion, From: f.From, To: f.To}.where(&args, false)
	var means string
	for _, t := range EvaluationErrorTypes {
		means += ", avg(l.sig_" + t + ")::float8, avg(l.insig_" + t + ")::float8"
	}
	rows, err := s.db.Query(ctx, `WITH latest AS (
			SELECT DISTINCT ON (e.report_id) e.* FROM evaluations e WHERE `+where+`
			ORDER BY e.report_id, e.reference_version DESC, e.id DESC)
		SELECT to_char(l.reference_at AT TIME ZONE 'UTC', 'IYYY-"W"IW'),
			to_char(date_trunc('week', l.reference_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD'),
			max(l.model_name), l.model_version, count(*), count(*) FILTER (WHERE l.significant_total = 0),
			count(q.id), string_agg(DISTINCT l.engine, ',')`+means+`
		FROM latest l LEFT JOIN qa_flags q ON q.evaluation_id = l.id
		GROUP BY 1, 2, l.model_version ORDER BY 2, l.model_version`, args...)
	if err != nil {
		return nil, fmt.Errorf("qa: metrics: %w", err)
	}
	defer rows.Close()
	out := []WeekMetrics{}
	for rows.Next() {
		m := WeekMetrics{MeanSignificant: map[string]float64{}, MeanInsignificant: map[string]float64{}, ByType: map[string]float64{}}
		vals := make([]float64, 2*len(EvaluationErrorTypes))
		dest := []any{&m.Week, &m.WeekStart, &m.ModelName, &m.ModelVersion, &m.Evaluated, &m.FreeOfSignificant, &m.Flagged, &m.Engines}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		for i, t := range EvaluationErrorTypes {
			m.MeanSignificant[t], m.MeanInsignificant[t] = vals[2*i], vals[2*i+1]
			m.ByType[t] = vals[2*i] + vals[2*i+1]
		}
		if m.Evaluated > 0 {
			m.ErrorFreeShare = float64(m.FreeOfSignificant) / float64(m.Evaluated)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ExportEvaluationsCSV writes one CSV row per evaluation matching f (flagged
// ones only when onlyFlagged), newest first: identifiers of the report, the
// models, the flag's disposition and the twelve counts. No report text.
func (s *Store) ExportEvaluationsCSV(ctx context.Context, w io.Writer, f FlagFilter, onlyFlagged bool) (int, error) {
	if err := f.validate(); err != nil {
		return 0, err
	}
	var args []any
	where := f.where(&args, onlyFlagged)
	join := "LEFT JOIN"
	if onlyFlagged {
		join = "JOIN"
	}
	rows, err := s.db.Query(ctx, `SELECT e.id, e.report_id::text, e.study_uid, COALESCE(s.accession_number, ''),
			e.candidate_version, e.reference_version, to_char(e.reference_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
			to_char(e.reference_at AT TIME ZONE 'UTC', 'IYYY-"W"IW'), e.model_name, e.model_version, e.engine, e.judge_model,
			COALESCE(q.id::text, ''), COALESCE(q.status, ''), COALESCE(q.disposition, ''), COALESCE(q.disposed_by, ''),
			e.significant_total, e.insignificant_total`+countColumns()+`
		FROM evaluations e `+join+` qa_flags q ON q.evaluation_id = e.id LEFT JOIN studies s ON s.study_uid = e.study_uid
		WHERE `+where+` ORDER BY e.reference_at DESC, e.id DESC`, args...)
	if err != nil {
		return 0, fmt.Errorf("qa: export: %w", err)
	}
	defer rows.Close()
	cw := csv.NewWriter(w)
	header := []string{"evaluation_id", "report_id", "study_uid", "accession_number", "candidate_version", "reference_version",
		"signed_at", "iso_week", "model_name", "model_version", "engine", "judge_model", "flag_id", "flag_status",
		"disposition", "disposed_by", "significant_total", "insignificant_total"}
	for _, t := range EvaluationErrorTypes {
		header = append(header, "significant_"+t, "insignificant_"+t)
	}
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return n, err
		}
		rec := make([]string, len(vals))
		for i, v := range vals {
			rec[i] = fmt.Sprint(v)
		}
		if err := cw.Write(rec); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	cw.Flush()
	return n, cw.Error()
}
