package drafts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/audit"
	"github.com/radraft/radraft/ingest"
)

// ErrInstanceExists: an instance with that SOP Instance UID is already
// indexed; IndexInstance changed nothing.
var ErrInstanceExists = errors.New("drafts: instance already stored")

// LookupInstance returns the stored instance with that SOP Instance UID, or
// nil when there is none.
func (s *Store) LookupInstance(ctx context.Context, sopInstanceUID string) (*ingest.StoredInstance, error) {
	si := &ingest.StoredInstance{}
	err := s.db.QueryRow(ctx, `SELECT sop_instance_uid, study_uid, path, sha256, file_size, duplicate_count
		FROM instances WHERE sop_instance_uid = $1`, sopInstanceUID).
		Scan(&si.SOPInstanceUID, &si.StudyUID, &si.Path, &si.SHA256, &si.FileSize, &si.DuplicateCount)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("drafts: lookup instance: %w", err)
	}
	return si, nil
}

func parseDA(s string) *time.Time {
	if len(s) != 8 {
		return nil
	}
	t, err := time.Parse("20060102", s)
	if err != nil {
		return nil
	}
	return &t
}

// IndexInstance records a newly stored instance in one transaction: the
// study (created, or its empty fields filled; last_received_at = now,
// instance_count + 1; a study already settled, needing a view decision or
// ready goes back to receiving so that it is settled again with this
// instance), the series, the instance row and an audit entry (references
// only). It returns ErrInstanceExists, changing nothing, when the SOP
// Instance UID is already indexed, and ingest.ErrSeriesInOtherStudy when the
// series is indexed under another study. The file must already be durable.
func (s *Store) IndexInstance(ctx context.Context, r *ingest.ReceivedInstance) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("drafts: index instance: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO studies AS s (study_uid, accession_number, patient_id, patient_name, patient_birth_date,
			patient_sex, study_date, study_time, study_description, referring_physician,
			dicom_indication, dicom_indication_source, instance_count)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,1)
		ON CONFLICT (study_uid) DO UPDATE SET
			accession_number    = CASE WHEN s.accession_number = '' THEN EXCLUDED.accession_number ELSE s.accession_number END,
			patient_id          = CASE WHEN s.patient_id = '' THEN EXCLUDED.patient_id ELSE s.patient_id END,
			patient_name        = CASE WHEN s.patient_name = '' THEN EXCLUDED.patient_name ELSE s.patient_name END,
			patient_birth_date  = CASE WHEN s.patient_birth_date = '' THEN EXCLUDED.patient_birth_date ELSE s.patient_birth_date END,
			patient_sex         = CASE WHEN s.patient_sex = '' THEN EXCLUDED.patient_sex ELSE s.patient_sex END,
			study_date          = COALESCE(s.study_date, EXCLUDED.study_date),
			study_time          = CASE WHEN s.study_time = '' THEN EXCLUDED.study_time ELSE s.study_time END,
			study_description   = CASE WHEN s.study_description = '' THEN EXCLUDED.study_description ELSE s.study_description END,
			referring_physician = CASE WHEN s.referring_physician = '' THEN EXCLUDED.referring_physician ELSE s.referring_physician END,
			dicom_indication_source = CASE WHEN s.dicom_indication = '' THEN EXCLUDED.dicom_indication_source ELSE s.dicom_indication_source END,
			dicom_indication    = CASE WHEN s.dicom_indication = '' THEN EXCLUDED.dicom_indication ELSE s.dicom_indication END,
			instance_count      = s.instance_count + 1,
			last_received_at    = now(),
			state               = CASE WHEN s.state IN ('settled', 'needs_view', 'ready') THEN 'receiving' ELSE s.state END,
			state_reason        = CASE WHEN s.state IN ('settled', 'needs_view', 'ready') THEN 'new instance received' ELSE s.state_reason END,
			updated_at          = now()`,
		r.StudyUID, r.AccessionNumber, r.PatientID, r.PatientName, r.PatientBirthDate, r.PatientSex,
		parseDA(r.StudyDate), r.StudyTime, r.StudyDescription, r.ReferringPhysician, r.Indication, r.IndicationSource)
	b.Queue(`WITH ins AS (INSERT INTO series (series_uid, study_uid, modality, series_number, series_description, body_part)
		VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (series_uid) DO NOTHING RETURNING study_uid)
		SELECT study_uid FROM ins UNION ALL SELECT study_uid FROM series WHERE series_uid = $1`,
		r.SeriesUID, r.StudyUID, r.Modality, r.SeriesNumber, r.SeriesDescription, r.BodyPart)
	b.Queue(`INSERT INTO instances (sop_instance_uid, sop_class_uid, series_uid, study_uid, instance_number,
			transfer_syntax_uid, path, file_size, dataset_size, sha256, calling_ae, view_position, view_code,
			image_laterality, photometric, rows_, columns_)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)
		ON CONFLICT (sop_instance_uid) DO NOTHING`,
		r.SOPInstanceUID, r.SOPClassUID, r.SeriesUID, r.StudyUID, r.InstanceNumber, r.TransferSyntaxUID,
		r.Path, r.FileSize, r.DatasetSize, r.SHA256, r.CallingAE, r.ViewPosition, r.ViewCode,
		r.ImageLaterality, r.Photometric, r.Rows, r.Columns)
	b.Queue(`INSERT INTO audit_log (actor, action, study_uid, object_ref, remote_addr, detail)
		VALUES ($1, 'instance.receive', $2, $3, $4, jsonb_build_object('sop_class', $5::text, 'transfer_syntax', $6::text))`,
		"dicom:"+r.CallingAE, r.StudyUID, r.SOPInstanceUID, r.RemoteAddr, r.SOPClassUID, r.TransferSyntaxUID)
	br := tx.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return fmt.Errorf("drafts: index study: %w", err)
	}
	var seriesStudy string
	if err := br.QueryRow().Scan(&seriesStudy); err != nil {
		br.Close()
		return fmt.Errorf("drafts: index series: %w", err)
	}
	if seriesStudy != r.StudyUID {
		br.Close()
		return ingest.ErrSeriesInOtherStudy // the rollback undoes the study update
	}
	tag, err := br.Exec()
	if err != nil {
		br.Close()
		return fmt.Errorf("drafts: index instance: %w", err)
	}
	if tag.RowsAffected() == 0 {
		br.Close()
		return ErrInstanceExists // the rollback undoes the study update
	}
	if _, err := br.Exec(); err != nil {
		br.Close()
		return fmt.Errorf("drafts: audit instance: %w", err)
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("drafts: index instance: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("drafts: commit instance: %w", err)
	}
	return nil
}

// RecordDuplicate counts an identical copy of an indexed instance received
// again (an idempotent re-send).
func (s *Store) RecordDuplicate(ctx context.Context, sopInstanceUID string) error {
	tag, err := s.db.Exec(ctx, `UPDATE instances SET duplicate_count = duplicate_count + 1 WHERE sop_instance_uid = $1`, sopInstanceUID)
	if err != nil {
		return fmt.Errorf("drafts: record duplicate: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("drafts: record duplicate: instance not indexed")
	}
	return nil
}

// RecordConflict records a differing copy; the first stored stays
// authoritative. When that first copy is the frontal image of a study whose
// drafting failed, the study is queued for drafting again (a new draft
// generation, in the same transaction): the worker then tries the copies
// kept aside (PromoteConflict), so a PACS re-sending a decodable copy
// recovers the study.
func (s *Store) RecordConflict(ctx context.Context, c ingest.InstanceConflict) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO instance_conflicts (sop_instance_uid, path, sha256, file_size, calling_ae,
				transfer_syntax_uid) VALUES ($1,$2,$3,$4,$5,$6)`,
			c.SOPInstanceUID, c.Path, c.SHA256, c.FileSize, c.CallingAE, c.TransferSyntaxUID); err != nil {
			return fmt.Errorf("drafts: record conflict: %w", err)
		}
		var study string
		var gen int64
		err := tx.QueryRow(ctx, `SELECT st.study_uid, st.draft_generation FROM studies st
			WHERE st.frontal_sop_instance_uid = $1 AND st.state = 'draft_failed' FOR UPDATE`, c.SOPInstanceUID).Scan(&study, &gen)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("drafts: record conflict: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE studies SET state = 'ready', draft_generation = $2,
				state_reason = 'a new copy of the frontal image arrived; drafting again', updated_at = now()
			WHERE study_uid = $1`, study, gen+1); err != nil {
			return fmt.Errorf("drafts: record conflict: %w", err)
		}
		if _, err := s.River.InsertTx(ctx, tx, DraftStudyArgs{StudyUID: study, Reason: "new_copy", Generation: gen + 1}, nil); err != nil {
			return fmt.Errorf("drafts: record conflict: queue draft: %w", err)
		}
		return audit.Write(ctx, tx, audit.Entry{Actor: "system", Action: "study.redraft_new_copy", StudyUID: study,
			ObjectRef: c.SOPInstanceUID, Detail: map[string]any{"generation": gen + 1}})
	})
}

// ConflictCopies lists the copies of an instance kept aside, newest first.
func (s *Store) ConflictCopies(ctx context.Context, sopInstanceUID string) ([]ingest.InstanceConflict, error) {
	rows, err := s.db.Query(ctx, `SELECT id, sop_instance_uid, path, sha256, file_size, calling_ae, transfer_syntax_uid
		FROM instance_conflicts WHERE sop_instance_uid = $1 ORDER BY received_at DESC, id DESC`, sopInstanceUID)
	if err != nil {
		return nil, fmt.Errorf("drafts: conflict copies: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ingest.InstanceConflict, error) {
		var c ingest.InstanceConflict
		err := r.Scan(&c.ID, &c.SOPInstanceUID, &c.Path, &c.SHA256, &c.FileSize, &c.CallingAE, &c.TransferSyntaxUID)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("drafts: conflict copies: %w", err)
	}
	return out, nil
}

// PromoteConflict makes the kept copy conflictID the indexed instance and
// keeps the indexed one as that conflict row, swapping their file, digest,
// size, sender and transfer syntax in one transaction (files are not
// moved: instances.path may then point under .conflicts). It is for a copy
// that decodes when the indexed one does not; audited.
func (s *Store) PromoteConflict(ctx context.Context, sopInstanceUID string, conflictID int64) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var study string
		var cur ingest.InstanceConflict
		err := tx.QueryRow(ctx, `SELECT study_uid, path, sha256, file_size, calling_ae, transfer_syntax_uid
			FROM instances WHERE sop_instance_uid = $1 FOR UPDATE`, sopInstanceUID).
			Scan(&study, &cur.Path, &cur.SHA256, &cur.FileSize, &cur.CallingAE, &cur.TransferSyntaxUID)
		if err != nil {
			return fmt.Errorf("drafts: promote copy: instance: %w", err)
		}
		var c ingest.InstanceConflict
		err = tx.QueryRow(ctx, `SELECT path, sha256, file_size, calling_ae, transfer_syntax_uid FROM instance_conflicts
			WHERE id = $1 AND sop_instance_uid = $2 FOR UPDATE`, conflictID, sopInstanceUID).
			Scan(&c.Path, &c.SHA256, &c.FileSize, &c.CallingAE, &c.TransferSyntaxUID)
		if err != nil {
			return fmt.Errorf("drafts: promote copy: conflict %d: %w", conflictID, err)
		}
		if c.TransferSyntaxUID == "" {
			c.TransferSyntaxUID = cur.TransferSyntaxUID // recorded before migration 0073
		}
		if _, err := tx.Exec(ctx, `UPDATE instances SET path = $2, sha256 = $3, file_size = $4, calling_ae = $5,
				transfer_syntax_uid = $6 WHERE sop_instance_uid = $1`,
			sopInstanceUID, c.Path, c.SHA256, c.FileSize, c.CallingAE, c.TransferSyntaxUID); err != nil {
			return fmt.Errorf("drafts: promote copy: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE instance_conflicts SET path = $2, sha256 = $3, file_size = $4, calling_ae = $5,
				transfer_syntax_uid = $6 WHERE id = $1`,
			conflictID, cur.Path, cur.SHA256, cur.FileSize, cur.CallingAE, cur.TransferSyntaxUID); err != nil {
			return fmt.Errorf("drafts: promote copy: %w", err)
		}
		return audit.Write(ctx, tx, audit.Entry{Actor: "system", Action: "instance.promote_copy", StudyUID: study,
			ObjectRef: sopInstanceUID, Detail: map[string]any{"conflict_id": conflictID, "transfer_syntax": c.TransferSyntaxUID}})
	})
}
