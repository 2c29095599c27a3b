package drafts

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// noIndicationSQL holds for a study "st" whose AI draft was made without an
// indication although a live order for the same patient (MRN) exists: the
// order most likely failed to match (wrong accession field, another UID).
const noIndicationSQL = `st.patient_id <> '' AND EXISTS (SELECT 1 FROM reports nr
		JOIN report_versions nv ON nv.report_id = nr.id AND nv.version = nr.ai_version
		WHERE nr.study_uid = st.study_uid AND nv.indication = '')
	AND EXISTS (SELECT 1 FROM orders po WHERE po.patient_id = st.patient_id AND po.patient_id <> '' AND NOT po.cancelled)`

// UnmatchedOrder is a live order that no study has matched for a while. It
// carries PHI.
type UnmatchedOrder struct {
	ID               int64     `json:"id"`
	AccessionNumber  string    `json:"accession_number"`
	AccessionSource  string    `json:"accession_source"`
	StudyUID         string    `json:"study_uid"`
	StudyUIDSource   string    `json:"study_uid_source"`
	PlacerOrder      string    `json:"placer_order_number"`
	FillerOrder      string    `json:"filler_order_number"`
	OrderControl     string    `json:"order_control"`
	PatientID        string    `json:"patient_id"`
	PatientName      string    `json:"patient_name"`
	ProcedureText    string    `json:"procedure_text"`
	Indication       string    `json:"indication"`
	IndicationSource string    `json:"indication_source"`
	ReceivedAt       time.Time `json:"received_at"`
	// PatientStudies are the studies of the same MRN that have no order of
	// their own: the likely intended match.
	PatientStudies []string `json:"patient_studies"`
}

// OrderAttention is what an administrator should look at: orders that
// match no study, and studies drafted without an indication although an
// order for their patient exists.
type OrderAttention struct {
	MinAge          string           `json:"min_age"`
	UnmatchedOrders []UnmatchedOrder `json:"unmatched_orders"`
	NoIndication    []WorklistItem   `json:"studies_without_indication"`
}

// OrdersNeedingAttention lists live orders received more than minAge ago
// that match no study (by accession or Study Instance UID), newest first,
// and the studies drafted without an indication although their patient has
// an order; at most limit of each.
func (s *Store) OrdersNeedingAttention(ctx context.Context, minAge time.Duration, limit int) (*OrderAttention, error) {
	res := &OrderAttention{MinAge: minAge.String()}
	rows, err := s.db.Query(ctx, `SELECT o.id, o.accession_number, o.accession_source, o.study_uid, o.study_uid_source,
		o.placer_order_number, o.filler_order_number, o.order_control, o.patient_id, o.patient_name, o.procedure_text,
		o.indication, o.indication_source, o.received_at,
		ARRAY(SELECT ps.study_uid FROM studies ps WHERE o.patient_id <> '' AND lower(ps.patient_id) = lower(o.patient_id)
			AND ps.order_id IS NULL ORDER BY ps.first_received_at DESC LIMIT 5)
		FROM orders o
		WHERE NOT o.cancelled AND o.received_at < now() - $1::interval
		  AND NOT EXISTS (SELECT 1 FROM studies st WHERE st.accession_number = o.accession_number AND o.accession_number <> '')
		  AND NOT EXISTS (SELECT 1 FROM studies st WHERE st.study_uid = o.study_uid AND o.study_uid <> '')
		ORDER BY o.received_at DESC LIMIT $2`, minAge.String(), limit)
	if err != nil {
		return nil, fmt.Errorf("drafts: unmatched orders: %w", err)
	}
	res.UnmatchedOrders, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (UnmatchedOrder, error) {
		var u UnmatchedOrder
		err := r.Scan(&u.ID, &u.AccessionNumber, &u.AccessionSource, &u.StudyUID, &u.StudyUIDSource, &u.PlacerOrder,
			&u.FillerOrder, &u.OrderControl, &u.PatientID, &u.PatientName, &u.ProcedureText, &u.Indication,
			&u.IndicationSource, &u.ReceivedAt, &u.PatientStudies)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("drafts: unmatched orders: %w", err)
	}
	if res.UnmatchedOrders == nil {
		res.UnmatchedOrders = []UnmatchedOrder{}
	}
	page, err := s.Worklist(ctx, WorklistQuery{OrderIssue: "no_indication", Sort: "received", Limit: limit})
	if err != nil {
		return nil, err
	}
	res.NoIndication = page.Items
	return res, nil
}

// Prior is another study of the same patient with its report. It carries PHI.
type Prior struct {
	StudyUID         string     `json:"study_uid"`
	AccessionNumber  string     `json:"accession_number"`
	StudyDate        *string    `json:"study_date"`
	StudyDescription string     `json:"study_description"`
	PatientID        string     `json:"patient_id"`
	ReportStatus     *string    `json:"report_status"`
	Findings         string     `json:"findings"` // the signed (or amended) text; empty when unsigned
	SignedBy         string     `json:"signed_by,omitempty"`
	SignedAt         *time.Time `json:"signed_at,omitempty"`
	FrontalSOP       *string    `json:"frontal_sop_instance_uid"`
}

// Priors lists the other studies of the study's patient: the same Patient
// ID as the DICOM header or as the study's order (MRN), each compared with
// both of the other study's; newest first, at most 50.
func (s *Store) Priors(ctx context.Context, studyUID string) ([]Prior, error) {
	rows, err := s.db.Query(ctx, `WITH me AS (
			SELECT ARRAY_REMOVE(ARRAY[NULLIF(lower(patient_id), ''), NULLIF(lower(order_patient_id), '')], NULL) AS ids
			FROM studies WHERE study_uid = $1)
		SELECT st.study_uid, st.accession_number, to_char(st.study_date, 'YYYY-MM-DD'), st.study_description,
			st.patient_id, r.status, COALESCE(CASE WHEN r.status IN ('signed', 'amended') THEN v.findings END, ''),
			COALESCE(r.signed_by, ''), r.signed_at, st.frontal_sop_instance_uid
		FROM me CROSS JOIN studies st
		LEFT JOIN reports r ON r.study_uid = st.study_uid
		LEFT JOIN report_versions v ON v.report_id = r.id AND v.version = r.current_version
		WHERE st.study_uid <> $1 AND cardinality(me.ids) > 0
		  AND (lower(st.patient_id) = ANY(me.ids) OR lower(st.order_patient_id) = ANY(me.ids))
		ORDER BY st.study_date DESC NULLS LAST, st.first_received_at DESC LIMIT 50`, studyUID)
	if err != nil {
		return nil, fmt.Errorf("drafts: priors: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Prior, error) {
		var p Prior
		err := r.Scan(&p.StudyUID, &p.AccessionNumber, &p.StudyDate, &p.StudyDescription, &p.PatientID, &p.ReportStatus,
			&p.Findings, &p.SignedBy, &p.SignedAt, &p.FrontalSOP)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("drafts: priors: %w", err)
	}
	if out == nil {
		out = []Prior{}
	}
	return out, nil
}
