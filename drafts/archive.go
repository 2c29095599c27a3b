package drafts

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ArchiveQuery selects stored studies, series or instances (the index that
// DICOM ingest fills), for searches such as DICOMweb's QIDO-RS. Text
// patterns are SQL LIKE patterns (the caller translates its own wildcard
// syntax and escapes with backslash); empty means "any".
type ArchiveQuery struct {
	StudyUIDs, SeriesUIDs, SOPInstanceUIDs []string

	PatientID, PatientName, AccessionNumber string // LIKE; PatientName ignores case
	Modality                                string // exact; a study matches when one of its series has it
	SOPClassUID                             string // exact
	DateFrom, DateTo                        *time.Time

	Limit, Offset int // Limit 0 = no limit
}

// ArchiveStudy is one stored study.
type ArchiveStudy struct {
	StudyUID, StudyDate, StudyTime, AccessionNumber, ReferringPhysician, StudyDescription string
	PatientID, PatientName, PatientBirthDate, PatientSex                                  string
	Modalities                                                                            []string
	Series, Instances                                                                     int
}

// ArchiveSeries is one stored series.
type ArchiveSeries struct {
	StudyUID, SeriesUID, Modality, SeriesNumber, SeriesDescription, BodyPart string
	Instances                                                                int
}

// ArchiveInstance is one stored instance; Path is relative to the storage dir.
type ArchiveInstance struct {
	StudyUID, SeriesUID, SOPClassUID, SOPInstanceUID, InstanceNumber, TransferSyntaxUID, Path string
	Rows, Columns                                                                             int
	FileSize                                                                                  int64
}

// where builds the conditions of q over studies st, series se and
// instances i (the aliases each search uses).
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, v any) {
	w.args = append(w.args, v)
	w.conds = append(w.conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(w.args))))
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return "TRUE"
	}
	return strings.Join(w.conds, " AND ")
}

func (q *ArchiveQuery) studyConds(w *where) {
	if len(q.StudyUIDs) > 0 {
		w.add("st.study_uid = ANY(?)", q.StudyUIDs)
	}
	if q.PatientID != "" {
		w.add("st.patient_id LIKE ?", q.PatientID)
	}
	if q.PatientName != "" {
		w.add("st.patient_name ILIKE ?", q.PatientName)
	}
	if q.AccessionNumber != "" {
		w.add("st.accession_number LIKE ?", q.AccessionNumber)
	}
	if q.DateFrom != nil {
		w.add("st.study_date >= ?", *q.DateFrom)
	}
	if q.DateTo != nil {
		w.add("st.study_date <= ?", *q.DateTo)
	}
}

func (q *ArchiveQuery) page() string {
	s := ""
	if q.Limit > 0 {
		s += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	if q.Offset > 0 {
		s += fmt.Sprintf(" OFFSET %d", q.Offset)
	}
	return s
}

// SearchStudies returns the studies matching q, newest first.
func (s *Store) SearchStudies(ctx context.Context, q ArchiveQuery) ([]ArchiveStudy, error) {
	w := &where{}
	q.studyConds(w)
	if q.Modality != "" {
		w.add("EXISTS (SELECT 1 FROM series m WHERE m.study_uid = st.study_uid AND m.modality = ?)", q.Modality)
	}
	rows, err := s.db.Query(ctx, `SELECT st.study_uid, COALESCE(to_char(st.study_date, 'YYYYMMDD'), ''), st.study_time,
			st.accession_number, st.referring_physician, st.study_description,
			st.patient_id, st.patient_name, st.patient_birth_date, st.patient_sex,
			COALESCE((SELECT array_agg(DISTINCT se.modality ORDER BY se.modality) FROM series se
			          WHERE se.study_uid = st.study_uid AND se.modality <> ''), '{}'),
			(SELECT count(*) FROM series se WHERE se.study_uid = st.study_uid),
			(SELECT count(*) FROM instances i WHERE i.study_uid = st.study_uid)
		FROM studies st WHERE `+w.sql()+` ORDER BY st.study_date DESC NULLS LAST, st.study_uid`+q.page(), w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ArchiveStudy{}
	for rows.Next() {
		var a ArchiveStudy
		if err := rows.Scan(&a.StudyUID, &a.StudyDate, &a.StudyTime, &a.AccessionNumber, &a.ReferringPhysician, &a.StudyDescription,
			&a.PatientID, &a.PatientName, &a.PatientBirthDate, &a.PatientSex, &a.Modalities, &a.Series, &a.Instances); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SearchSeries returns the series matching q (study attributes filter
// their study).
func (s *Store) SearchSeries(ctx context.Context, q ArchiveQuery) ([]ArchiveSeries, error) {
	w := &where{}
	q.studyConds(w)
	if len(q.SeriesUIDs) > 0 {
		w.add("se.series_uid = ANY(?)", q.SeriesUIDs)
	}
	if q.Modality != "" {
		w.add("se.modality = ?", q.Modality)
	}
	rows, err := s.db.Query(ctx, `SELECT se.study_uid, se.series_uid, se.modality, se.series_number, se.series_description, se.body_part,
			(SELECT count(*) FROM instances i WHERE i.series_uid = se.series_uid)
		FROM series se JOIN studies st ON st.study_uid = se.study_uid
		WHERE `+w.sql()+` ORDER BY se.study_uid, NULLIF(regexp_replace(se.series_number, '\D', '', 'g'), '')::bigint NULLS LAST, se.series_uid`+q.page(), w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ArchiveSeries{}
	for rows.Next() {
		var a ArchiveSeries
		if err := rows.Scan(&a.StudyUID, &a.SeriesUID, &a.Modality, &a.SeriesNumber, &a.SeriesDescription, &a.BodyPart, &a.Instances); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SearchInstances returns the instances matching q.
func (s *Store) SearchInstances(ctx context.Context, q ArchiveQuery) ([]ArchiveInstance, error) {
	w := &where{}
	q.studyConds(w)
	if len(q.SeriesUIDs) > 0 {
		w.add("i.series_uid = ANY(?)", q.SeriesUIDs)
	}
	if len(q.SOPInstanceUIDs) > 0 {
		w.add("i.sop_instance_uid = ANY(?)", q.SOPInstanceUIDs)
	}
	if q.SOPClassUID != "" {
		w.add("i.sop_class_uid = ?", q.SOPClassUID)
	}
	if q.Modality != "" {
		w.add("se.modality = ?", q.Modality)
	}
	rows, err := s.db.Query(ctx, `SELECT i.study_uid, i.series_uid, i.sop_class_uid, i.sop_instance_uid, i.instance_number,
			i.transfer_syntax_uid, i.path, i.rows_, i.columns_, i.file_size
		FROM instances i JOIN series se ON se.series_uid = i.series_uid JOIN studies st ON st.study_uid = i.study_uid
		WHERE `+w.sql()+` ORDER BY i.study_uid, i.series_uid,
			NULLIF(regexp_replace(i.instance_number, '\D', '', 'g'), '')::bigint NULLS LAST, i.sop_instance_uid`+q.page(), w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ArchiveInstance{}
	for rows.Next() {
		var a ArchiveInstance
		if err := rows.Scan(&a.StudyUID, &a.SeriesUID, &a.SOPClassUID, &a.SOPInstanceUID, &a.InstanceNumber,
			&a.TransferSyntaxUID, &a.Path, &a.Rows, &a.Columns, &a.FileSize); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
