package drafts

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Worklist statuses: the report's state when a report exists, else the
// study's drafting state.
const (
	WorklistDrafted = "drafted" // AI draft, untouched
	WorklistEdited  = "edited"  // edited, not signed
	// signed, amended: as the report; receiving, settled, needs_view, ready,
	// drafting, draft_failed: as the study.
)

// worklistStatusSQL is the worklist status of a study row st, kept by the
// triggers of migration 0044 (from the report when there is one).
const worklistStatusSQL = `st.worklist_status`

// WorklistQuery filters, sorts and pages the worklist.
type WorklistQuery struct {
	Statuses []string  // any of; empty = all
	From, To time.Time // study date range, inclusive; zero = open
	// Text matches, case-insensitively, the start of the accession number or
	// patient ID (MRN), or (from 3 characters) part of the patient name.
	Text string
	// Flag filters by QA flag: "open" (a flag awaits a disposition),
	// "flagged" (any flag), "none" (never flagged); empty = all.
	Flag string
	// OrderIssue filters by the study's HL7 order: "cancelled" (its order was
	// cancelled), "no_indication" (drafted without an indication although
	// an order for the patient exists), "mismatch" (the order's accession,
	// MRN or name differs from the DICOM one); empty = all.
	OrderIssue string
	Sort       string // "study_date" (default) or "received"
	Asc        bool   // default newest first
	Limit      int    // default 50, at most 500
	Cursor     string // from a previous page's NextCursor
}

// WorklistItem is one row of the worklist. It carries PHI.
type WorklistItem struct {
	StudyUID         string     `json:"study_uid"`
	AccessionNumber  string     `json:"accession_number"`
	PatientID        string     `json:"patient_id"`
	PatientName      string     `json:"patient_name"`
	PatientBirthDate string     `json:"patient_birth_date"`
	PatientSex       string     `json:"patient_sex"`
	StudyDate        *string    `json:"study_date"` // YYYY-MM-DD
	StudyDescription string     `json:"study_description"`
	ReceivedAt       time.Time  `json:"received_at"`
	InstanceCount    int        `json:"instance_count"`
	StudyState       string     `json:"study_state"`
	StateReason      string     `json:"state_reason,omitempty"`
	Status           string     `json:"status"`
	ReportStatus     *string    `json:"report_status"`
	CurrentVersion   *int       `json:"current_version"`
	SignedBy         string     `json:"signed_by,omitempty"`
	SignedAt         *time.Time `json:"signed_at,omitempty"`
	Indication       string     `json:"indication"`
	IndicationSource string     `json:"indication_source"`
	// QAFlag is the report's QA flag state: "open" (a CheXprompt flag awaits
	// a disposition), "dispositioned", or null (never flagged).
	QAFlag *string `json:"qa_flag"`
	OrderIdentity
}

// OrderIdentity is what the study's HL7 order says about whom and which
// exam it is, beside the DICOM values. The DICOM value is preferred for
// display; Mismatch names the fields where both exist and differ
// ("accession_number", "patient_id", "patient_name").
type OrderIdentity struct {
	OrderID              *int64   `json:"order_id"`
	OrderAccessionNumber string   `json:"order_accession_number"`
	OrderPatientID       string   `json:"order_patient_id"`
	OrderPatientName     string   `json:"order_patient_name"`
	OrderCancelled       bool     `json:"order_cancelled"`
	Mismatch             []string `json:"mismatch"`
}

// identityCols are the studies columns of an OrderIdentity, in scan order.
const identityCols = `st.order_id, st.order_accession_number, st.order_patient_id, st.order_patient_name, st.order_cancelled`

func (o *OrderIdentity) scanDest() []any {
	return []any{&o.OrderID, &o.OrderAccessionNumber, &o.OrderPatientID, &o.OrderPatientName, &o.OrderCancelled}
}

// compare fills Mismatch from the DICOM values of the study.
func (o *OrderIdentity) compare(accession, patientID, patientName string) {
	o.Mismatch = []string{}
	differ := func(a, b string) bool {
		a, b = normIdentity(a), normIdentity(b)
		return a != "" && b != "" && a != b
	}
	if differ(accession, o.OrderAccessionNumber) {
		o.Mismatch = append(o.Mismatch, "accession_number")
	}
	if differ(patientID, o.OrderPatientID) {
		o.Mismatch = append(o.Mismatch, "patient_id")
	}
	if differ(patientName, o.OrderPatientName) {
		o.Mismatch = append(o.Mismatch, "patient_name")
	}
}

// normIdentity makes "DOE^JANE^^" and "doe^jane" equal.
func normIdentity(s string) string {
	return strings.ToLower(strings.TrimRight(strings.TrimSpace(s), "^ "))
}

// WorklistPage is one page of the worklist.
type WorklistPage struct {
	Items      []WorklistItem `json:"items"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// ErrBadCursor is returned for a cursor that does not fit the query.
var ErrBadCursor = errors.New("drafts: bad worklist cursor")

type worklistCursor struct {
	Sort string `json:"s"`
	Asc  bool   `json:"a"`
	Key  string `json:"k"` // date YYYY-MM-DD or RFC 3339 timestamp
	UID  string `json:"u"`
}

// likeEscape escapes LIKE metacharacters.
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// Worklist returns one page of studies with their report and order state.
// The page is ordered by (sort key, study UID) and continued with a keyset
// cursor, so a page costs the same at any depth.
func (s *Store) Worklist(ctx context.Context, q WorklistQuery) (WorklistPage, error) {
	q, sql, args, err := worklistSQL(q)
	if err != nil {
		return WorklistPage{}, err
	}
	return s.runWorklist(ctx, q, sql, args)
}

// WorklistExplain runs EXPLAIN (ANALYZE, BUFFERS) of the query Worklist runs
// for q and returns the plan (for benchmarks and index checks).
func (s *Store) WorklistExplain(ctx context.Context, q WorklistQuery) (string, error) {
	_, sql, args, err := worklistSQL(q)
	if err != nil {
		return "", err
	}
	rows, err := s.db.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}

// worklistSQL builds the worklist query for q (limit and sort normalised
// and returned): its conditions, then the page query over them.
func worklistSQL(q WorklistQuery) (WorklistQuery, string, []any, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.Limit > 500 {
		q.Limit = 500
	}
	var sortExpr string
	switch q.Sort {
	case "", "study_date":
		q.Sort = "study_date"
		sortExpr = "COALESCE(st.study_date, DATE '0001-01-01')"
	case "received":
		sortExpr = "st.last_received_at"
	default:
		return q, "", nil, fmt.Errorf("drafts: unknown worklist sort %q", q.Sort)
	}
	var a sqlArgs
	where, err := worklistWhere(q, sortExpr, &a)
	if err != nil {
		return q, "", nil, err
	}
	return q, worklistPageSQL(q, sortExpr, where, &a), a.args, nil
}

// sqlArgs collects a query's arguments; add returns the placeholder of v.
type sqlArgs struct{ args []any }

func (a *sqlArgs) add(v any) string {
	a.args = append(a.args, v)
	return fmt.Sprintf("$%d", len(a.args))
}

// worklistWhere is the conditions of q on studies "st": dates, text,
// QA flag, order issue and the page cursor.
func worklistWhere(q WorklistQuery, sortExpr string, a *sqlArgs) ([]string, error) {
	var where []string
	// Date bounds on the indexed expression (NULL dates sort as 0001-01-01
	// and are outside any range), so that they bound the index scan.
	const dateExpr = "COALESCE(st.study_date, DATE '0001-01-01')"
	if !q.From.IsZero() {
		where = append(where, dateExpr+" >= "+a.add(q.From.Format("2006-01-02"))+"::date")
	}
	if !q.To.IsZero() {
		where = append(where, dateExpr+" <= "+a.add(q.To.Format("2006-01-02"))+"::date")
		if q.From.IsZero() {
			where = append(where, dateExpr+" > DATE '0001-01-01'")
		}
	}
	if t := strings.ToLower(strings.TrimSpace(q.Text)); t != "" {
		where = append(where, worklistTextSQL(t, a))
	}
	switch q.Flag {
	case "":
	// Through the report (qa_flags is indexed by report_id).
	case "open":
		where = append(where, "EXISTS (SELECT 1 FROM reports fr JOIN qa_flags f ON f.report_id = fr.id WHERE fr.study_uid = st.study_uid AND f.status = 'open')")
	case "flagged":
		where = append(where, "EXISTS (SELECT 1 FROM reports fr JOIN qa_flags f ON f.report_id = fr.id WHERE fr.study_uid = st.study_uid)")
	case "none":
		where = append(where, "NOT EXISTS (SELECT 1 FROM reports fr JOIN qa_flags f ON f.report_id = fr.id WHERE fr.study_uid = st.study_uid)")
	default:
		return nil, fmt.Errorf("drafts: unknown worklist flag filter %q", q.Flag)
	}
	switch q.OrderIssue {
	case "":
	case "cancelled":
		where = append(where, "st.order_cancelled")
	case "no_indication":
		where = append(where, noIndicationSQL)
	case "mismatch":
		where = append(where, `st.order_id IS NOT NULL AND (
			(st.accession_number <> '' AND st.order_accession_number <> '' AND lower(st.accession_number) <> lower(st.order_accession_number))
			OR (st.patient_id <> '' AND st.order_patient_id <> '' AND lower(st.patient_id) <> lower(st.order_patient_id))
			OR (st.patient_name <> '' AND st.order_patient_name <> '' AND lower(rtrim(st.patient_name, '^ ')) <> lower(rtrim(st.order_patient_name, '^ '))))`)
	default:
		return nil, fmt.Errorf("drafts: unknown worklist order issue %q", q.OrderIssue)
	}
	if q.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		var c worklistCursor
		if err != nil || json.Unmarshal(raw, &c) != nil || c.Sort != q.Sort || c.Asc != q.Asc {
			return nil, ErrBadCursor
		}
		cmp, cast := "<", "::date"
		if q.Asc {
			cmp = ">"
		}
		if q.Sort == "received" {
			cast = "::timestamptz"
		}
		where = append(where, fmt.Sprintf("(%s, st.study_uid) %s (%s%s, %s)", sortExpr, cmp, a.add(c.Key), cast, a.add(c.UID)))
	}
	return where, nil
}

// worklistTextSQL is the search of t (lower case): accession and MRN by
// prefix; the name as a substring from 3 characters on, words in order
// ("doe jane" finds DOE^JANE). The order's accession, MRN and name count as
// much as the DICOM ones.
func worklistTextSQL(t string, a *sqlArgs) string {
	p := a.add(likeEscape(t) + "%")
	cond := fmt.Sprintf("lower(st.accession_number) LIKE %s OR lower(st.patient_id) LIKE %s"+
		" OR lower(st.order_accession_number) LIKE %s OR lower(st.order_patient_id) LIKE %s", p, p, p, p)
	if len([]rune(t)) >= 3 {
		words := strings.Fields(t)
		for i, w := range words {
			words[i] = likeEscape(w)
		}
		n := a.add("%" + strings.Join(words, "%") + "%")
		cond += " OR lower(st.patient_name) LIKE " + n + " OR lower(st.order_patient_name) LIKE " + n
	}
	return "(" + cond + ")"
}

// worklistPageSQL selects the page's studies first (one index range scan
// per status, in worklist order, stopping after a page, merged), then joins
// the report, order and flags for only those rows.
func worklistPageSQL(q WorklistQuery, sortExpr string, where []string, a *sqlArgs) string {
	dir := "DESC"
	if q.Asc {
		dir = "ASC"
	}
	limit := a.add(q.Limit + 1)
	order := fmt.Sprintf("ORDER BY k %s, study_uid %s LIMIT %s", dir, dir, limit)
	branch := func(extra string) string {
		w := append([]string(nil), where...)
		if extra != "" {
			w = append(w, extra)
		}
		sql := "SELECT st.study_uid, " + sortExpr + " AS k FROM studies st"
		if len(w) > 0 {
			sql += " WHERE " + strings.Join(w, " AND ")
		}
		return "(" + sql + " " + order + ")"
	}
	var branches []string
	if len(q.Statuses) == 0 {
		branches = append(branches, branch(""))
	}
	for _, st := range q.Statuses {
		branches = append(branches, branch(worklistStatusSQL+" = "+a.add(st)))
	}
	return `WITH page AS (SELECT study_uid, k FROM (` + strings.Join(branches, "\n\t\tUNION ALL ") + `) u ` + order + `)
	SELECT st.study_uid, st.accession_number, st.patient_id, st.patient_name, st.patient_birth_date, st.patient_sex,
		to_char(st.study_date, 'YYYY-MM-DD'), st.study_description, st.last_received_at, st.instance_count, st.state, st.state_reason,
		` + worklistStatusSQL + `, r.status, r.current_version, COALESCE(r.signed_by, ''), r.signed_at,
		COALESCE(NULLIF(o.indication, ''), st.dicom_indication),
		CASE WHEN COALESCE(o.indication, '') <> '' THEN o.indication_source
		     WHEN st.dicom_indication <> '' THEN CASE WHEN st.dicom_indication_source LIKE 'dicom:%' THEN st.dicom_indication_source ELSE 'dicom:' || st.dicom_indication_source END
		     ELSE '' END,
		(SELECT CASE WHEN count(*) = 0 THEN NULL WHEN bool_or(f.status = 'open') THEN 'open' ELSE 'dispositioned' END
		   FROM qa_flags f WHERE r.id IS NOT NULL AND f.report_id = r.id),
		page.k::text, ` + identityCols + `
	FROM page
	JOIN studies st ON st.study_uid = page.study_uid
	LEFT JOIN reports r ON r.study_uid = st.study_uid
	` + WorklistOrderJoin + `
	` + fmt.Sprintf("ORDER BY page.k %s, st.study_uid %s", dir, dir)
}

// WorklistOrderJoin joins, as "o", the order that gives studies "st" their
// indication: by accession first, then by Study UID, newest first, never a
// cancelled one. Two index lookups, not an OR (which scans every order).
// Exported for bench/worklist's OFFSET-paging peer query.
const WorklistOrderJoin = `LEFT JOIN LATERAL (
		SELECT x.indication, x.indication_source FROM (
			(SELECT o.indication, o.indication_source, 0 AS pri, o.updated_at FROM orders o
			 WHERE st.accession_number <> '' AND o.accession_number <> '' AND o.accession_number = st.accession_number AND NOT o.cancelled)
			UNION ALL
			(SELECT o.indication, o.indication_source, 1, o.updated_at FROM orders o
			 WHERE o.study_uid <> '' AND o.study_uid = st.study_uid AND NOT o.cancelled)
		) x ORDER BY x.pri, x.updated_at DESC LIMIT 1) o ON true`

func (s *Store) runWorklist(ctx context.Context, q WorklistQuery, sql string, args []any) (WorklistPage, error) {
	// QueryExecModeExec: an unnamed statement planned for these values
	// every time. A cached generic plan cannot see the search pattern's
	// selectivity and would walk the date index instead of the trigram one.
	rows, err := s.db.Query(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return WorklistPage{}, fmt.Errorf("drafts: worklist: %w", err)
	}
	var keys []string
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (WorklistItem, error) {
		var it WorklistItem
		var key string
		err := r.Scan(append([]any{&it.StudyUID, &it.AccessionNumber, &it.PatientID, &it.PatientName, &it.PatientBirthDate, &it.PatientSex,
			&it.StudyDate, &it.StudyDescription, &it.ReceivedAt, &it.InstanceCount, &it.StudyState, &it.StateReason,
			&it.Status, &it.ReportStatus, &it.CurrentVersion, &it.SignedBy, &it.SignedAt, &it.Indication, &it.IndicationSource, &it.QAFlag, &key},
			it.OrderIdentity.scanDest()...)...)
		it.compare(it.AccessionNumber, it.PatientID, it.PatientName)
		keys = append(keys, key)
		return it, err
	})
	if err != nil {
		return WorklistPage{}, fmt.Errorf("drafts: worklist: %w", err)
	}
	page := WorklistPage{Items: items}
	if len(items) > q.Limit {
		page.Items = items[:q.Limit]
		last := page.Items[q.Limit-1]
		key := keys[q.Limit-1]
		if q.Sort == "received" {
			key = last.ReceivedAt.UTC().Format(time.RFC3339Nano)
		}
		b, _ := json.Marshal(worklistCursor{Sort: q.Sort, Asc: q.Asc, Key: key, UID: last.StudyUID})
		page.NextCursor = base64.RawURLEncoding.EncodeToString(b)
	}
	if page.Items == nil {
		page.Items = []WorklistItem{}
	}
	return page, nil
}

// StudyDetail is a study with its order, indication, series and instances.
// It carries PHI.
type StudyDetail struct {
	StudyUID           string          `json:"study_uid"`
	AccessionNumber    string          `json:"accession_number"`
	PatientID          string          `json:"patient_id"`
	PatientName        string          `json:"patient_name"`
	PatientBirthDate   string          `json:"patient_birth_date"`
	PatientSex         string          `json:"patient_sex"`
	StudyDate          *string         `json:"study_date"`
	StudyTime          string          `json:"study_time"`
	StudyDescription   string          `json:"study_description"`
	ReferringPhysician string          `json:"referring_physician"`
	State              string          `json:"state"`
	StateReason        string          `json:"state_reason,omitempty"`
	InstanceCount      int             `json:"instance_count"`
	FirstReceivedAt    time.Time       `json:"first_received_at"`
	LastReceivedAt     time.Time       `json:"last_received_at"`
	SettledAt          *time.Time      `json:"settled_at"`
	FrontalSOP         *string         `json:"frontal_sop_instance_uid"`
	ViewReason         string          `json:"view_reason"`
	DICOMIndication    string          `json:"dicom_indication"`
	DICOMIndicationSrc string          `json:"dicom_indication_source"`
	Indication         StudyIndication `json:"-"`
	Order              *StoredOrder    `json:"-"`
	Series             []SeriesDetail  `json:"series"`
	OrderIdentity
}

// SeriesDetail is one series of a study.
type SeriesDetail struct {
	SeriesUID         string           `json:"series_uid"`
	Modality          string           `json:"modality"`
	SeriesNumber      string           `json:"series_number"`
	SeriesDescription string           `json:"series_description"`
	BodyPart          string           `json:"body_part"`
	Instances         []InstanceDetail `json:"instances"`
}

// InstanceDetail is one stored instance (Path is relative to the storage dir
// and not sent to clients).
type InstanceDetail struct {
	SOPInstanceUID    string    `json:"sop_instance_uid"`
	SOPClassUID       string    `json:"sop_class_uid"`
	InstanceNumber    string    `json:"instance_number"`
	TransferSyntaxUID string    `json:"transfer_syntax_uid"`
	ViewPosition      string    `json:"view_position"`
	ViewCode          string    `json:"view_code"`
	ImageLaterality   string    `json:"image_laterality"`
	Photometric       string    `json:"photometric"`
	Rows              int       `json:"rows"`
	Columns           int       `json:"columns"`
	FileSize          int64     `json:"file_size"`
	ReceivedAt        time.Time `json:"received_at"`
	Frontal           bool      `json:"frontal"`
	StudyUID          string    `json:"-"`
	Path              string    `json:"-"`
}

// StudyDetail loads a study with its order, indication, series and instances.
func (s *Store) StudyDetail(ctx context.Context, studyUID string) (*StudyDetail, error) {
	d := &StudyDetail{StudyUID: studyUID}
	err := s.db.QueryRow(ctx, `SELECT accession_number, patient_id, patient_name, patient_birth_date, patient_sex,
		to_char(study_date, 'YYYY-MM-DD'), study_time, study_description, referring_physician, state, state_reason, instance_count,
		first_received_at, last_received_at, settled_at, frontal_sop_instance_uid, view_reason, dicom_indication, dicom_indication_source,
		`+identityCols+`
		FROM studies st WHERE study_uid=$1`, studyUID).Scan(append([]any{&d.AccessionNumber, &d.PatientID, &d.PatientName, &d.PatientBirthDate,
		&d.PatientSex, &d.StudyDate, &d.StudyTime, &d.StudyDescription, &d.ReferringPhysician, &d.State, &d.StateReason,
		&d.InstanceCount, &d.FirstReceivedAt, &d.LastReceivedAt, &d.SettledAt, &d.FrontalSOP, &d.ViewReason,
		&d.DICOMIndication, &d.DICOMIndicationSrc}, d.OrderIdentity.scanDest()...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrStudyNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("drafts: study: %w", err)
	}
	d.compare(d.AccessionNumber, d.PatientID, d.PatientName)
	if d.Order, err = s.OrderForStudy(ctx, studyUID); err != nil {
		return nil, err
	}
	if d.Indication, err = s.IndicationForStudy(ctx, studyUID); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT series_uid, modality, series_number, series_description, body_part
		FROM series WHERE study_uid=$1 ORDER BY series_number, created_at, series_uid`, studyUID)
	if err != nil {
		return nil, err
	}
	d.Series, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (SeriesDetail, error) {
		var x SeriesDetail
		err := r.Scan(&x.SeriesUID, &x.Modality, &x.SeriesNumber, &x.SeriesDescription, &x.BodyPart)
		x.Instances = []InstanceDetail{}
		return x, err
	})
	if err != nil {
		return nil, err
	}
	rows, err = s.db.Query(ctx, `SELECT series_uid, `+instanceCols+` FROM instances WHERE study_uid=$1
		ORDER BY series_uid, instance_number, sop_instance_uid`, studyUID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var series string
		var in InstanceDetail
		if err := rows.Scan(append([]any{&series}, in.scanDest()...)...); err != nil {
			return nil, err
		}
		in.Frontal = d.FrontalSOP != nil && *d.FrontalSOP == in.SOPInstanceUID
		for i := range d.Series {
			if d.Series[i].SeriesUID == series {
				d.Series[i].Instances = append(d.Series[i].Instances, in)
			}
		}
	}
	if d.Series == nil {
		d.Series = []SeriesDetail{}
	}
	return d, rows.Err()
}

const instanceCols = `sop_instance_uid, sop_class_uid, instance_number, transfer_syntax_uid, view_position, view_code,
	image_laterality, photometric, rows_, columns_, file_size, received_at, study_uid, path`

func (in *InstanceDetail) scanDest() []any {
	return []any{&in.SOPInstanceUID, &in.SOPClassUID, &in.InstanceNumber, &in.TransferSyntaxUID, &in.ViewPosition,
		&in.ViewCode, &in.ImageLaterality, &in.Photometric, &in.Rows, &in.Columns, &in.FileSize, &in.ReceivedAt,
		&in.StudyUID, &in.Path}
}

// ErrNoInstance names an unknown SOP Instance UID.
var ErrNoInstance = errors.New("drafts: no such instance")

// Instance returns a stored instance (with its path) of a study.
func (s *Store) Instance(ctx context.Context, studyUID, sopUID string) (*InstanceDetail, error) {
	var in InstanceDetail
	err := s.db.QueryRow(ctx, `SELECT `+instanceCols+` FROM instances WHERE sop_instance_uid=$1 AND study_uid=$2`,
		sopUID, studyUID).Scan(in.scanDest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoInstance
	}
	if err != nil {
		return nil, fmt.Errorf("drafts: instance: %w", err)
	}
	return &in, nil
}
