package drafts

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// SROutbox is which DICOM SR results the store queues: one outbox row per
// destination when a report is signed or amended (kind sr), and, when
// Drafts is set, when an AI draft is stored (kind sr_draft).
type SROutbox struct {
	Destinations []string // AET@host:port, as configured
	Drafts       bool
}

// SRContent is what an SR needs beyond the ORU's fields. It carries PHI
// (the indication): never log it.
type SRContent struct {
	StudyTime, ReferringPhysician string
	Indication, IndicationSource  string
	// Evidence: the image the draft was made from (the study's frontal
	// image), or every instance of the study when none was chosen.
	Evidence []EvidenceRef
	// PredecessorVersion: for an amendment, the signed version it replaces.
	PredecessorVersion int
	// ModelName and ModelVersion: the AI draft's model (sr_draft rows).
	ModelName, ModelVersion string
}

// EvidenceRef names one instance of the study.
type EvidenceRef struct{ SeriesUID, SOPClassUID, SOPInstanceUID string }

func (s *Store) enqueueSR(ctx context.Context, tx pgx.Tx, kind, reportID string, version int, studyUID string) error {
	for _, d := range s.SR.Destinations {
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (kind, report_id, version, study_uid, destination) VALUES ($1,$2,$3,$4,$5)`,
			kind, reportID, version, studyUID, d); err != nil {
			return fmt.Errorf("drafts: outbox: %w", err)
		}
	}
	return nil
}

// srContentTx loads the SR content of outbox row it.
func srContentTx(ctx context.Context, tx pgx.Tx, it *OutboxItem) (*SRContent, error) {
	c := &SRContent{}
	err := tx.QueryRow(ctx, `SELECT st.study_time, st.referring_physician,
			COALESCE(NULLIF(ai.indication, ''), st.dicom_indication),
			CASE WHEN ai.indication <> '' THEN ai.indication_source
			     WHEN st.dicom_indication <> '' THEN 'DICOM ' || st.dicom_indication_source ELSE '' END,
			v.model_name, v.model_version,
			COALESCE((SELECT max(p.version) FROM report_versions p WHERE p.report_id=v.report_id AND p.version < v.version
			          AND p.kind IN ('sign', 'amend') AND v.kind = 'amend'), 0)
		FROM report_versions v JOIN reports r ON r.id=v.report_id JOIN studies st ON st.study_uid=r.study_uid
		LEFT JOIN report_versions ai ON ai.report_id=r.id
		     AND ai.version = (SELECT max(a.version) FROM report_versions a WHERE a.report_id=r.id AND a.kind='ai_draft' AND a.version <= v.version)
		WHERE v.report_id=$1 AND v.version=$2`, it.ReportID, it.Version).
		Scan(&c.StudyTime, &c.ReferringPhysician, &c.Indication, &c.IndicationSource, &c.ModelName, &c.ModelVersion, &c.PredecessorVersion)
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT i.series_uid, i.sop_class_uid, i.sop_instance_uid FROM instances i
		JOIN studies st ON st.study_uid=i.study_uid
		WHERE i.study_uid=$1 AND (st.frontal_sop_instance_uid IS NULL OR i.sop_instance_uid=st.frontal_sop_instance_uid)
		ORDER BY i.series_uid, i.instance_number, i.sop_instance_uid`, it.StudyUID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var e EvidenceRef
		if err := rows.Scan(&e.SeriesUID, &e.SOPClassUID, &e.SOPInstanceUID); err != nil {
			return nil, err
		}
		c.Evidence = append(c.Evidence, e)
	}
	return c, rows.Err()
}

// OutboxDestination is the delivery state of one kind of result to one
// destination, for administrators. No PHI: counts, times and transport errors.
type OutboxDestination struct {
	Kind          string     `json:"kind"`
	Destination   string     `json:"destination"`
	Pending       int64      `json:"pending"`
	Sent          int64      `json:"sent"`
	Failed        int64      `json:"failed"`
	LastSentAt    *time.Time `json:"last_sent_at,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"` // of the earliest pending row
	LastError     string     `json:"last_error,omitempty"`      // of the most recently failed attempt
}

// OutboxDestinations reports delivery per kind and destination.
func (s *Store) OutboxDestinations(ctx context.Context) ([]OutboxDestination, error) {
	rows, err := s.db.Query(ctx, `SELECT kind, destination,
			count(*) FILTER (WHERE state='pending'), count(*) FILTER (WHERE state='sent'), count(*) FILTER (WHERE state='failed'),
			max(sent_at), min(next_attempt_at) FILTER (WHERE state='pending'),
			COALESCE((array_agg(last_error ORDER BY next_attempt_at DESC) FILTER (WHERE last_error <> ''))[1], '')
		FROM outbox GROUP BY kind, destination ORDER BY kind, destination`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []OutboxDestination{}
	for rows.Next() {
		var d OutboxDestination
		if err := rows.Scan(&d.Kind, &d.Destination, &d.Pending, &d.Sent, &d.Failed, &d.LastSentAt, &d.NextAttemptAt, &d.LastError); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
