package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/radraft/radraft/dicom/cfind"
	"github.com/radraft/radraft/drafts"
)

// archiveFinder answers the DICOM listener's C-FIND from the index: the
// same searches as QIDO-RS (drafts.Store.SearchStudies/SearchSeries).
type archiveFinder struct{ store *drafts.Store }

func (f archiveFinder) Find(ctx context.Context, q cfind.Query) ([]cfind.Record, error) {
	aq := drafts.ArchiveQuery{StudyUIDs: q.StudyUIDs, SeriesUIDs: q.SeriesUIDs, PatientID: q.PatientID,
		PatientName: q.PatientName, AccessionNumber: q.AccessionNumber, Modality: q.Modality,
		DateFrom: q.DateFrom, DateTo: q.DateTo}
	var out []cfind.Record
	if q.Level == "SERIES" {
		rows, err := f.store.SearchSeries(ctx, aq)
		for _, r := range rows {
			out = append(out, cfind.Record{tag.StudyInstanceUID: r.StudyUID, tag.SeriesInstanceUID: r.SeriesUID,
				tag.Modality: r.Modality, tag.SeriesNumber: r.SeriesNumber, tag.SeriesDescription: r.SeriesDescription,
				tag.BodyPartExamined: r.BodyPart, tag.NumberOfSeriesRelatedInstances: strconv.Itoa(r.Instances)})
		}
		return out, err
	}
	rows, err := f.store.SearchStudies(ctx, aq)
	for _, r := range rows {
		out = append(out, cfind.Record{tag.StudyInstanceUID: r.StudyUID, tag.StudyDate: r.StudyDate, tag.StudyTime: r.StudyTime,
			tag.AccessionNumber: r.AccessionNumber, tag.ReferringPhysicianName: r.ReferringPhysician,
			tag.StudyDescription: r.StudyDescription, tag.PatientID: r.PatientID, tag.PatientName: r.PatientName,
			tag.PatientBirthDate: r.PatientBirthDate, tag.PatientSex: r.PatientSex,
			tag.ModalitiesInStudy: strings.Join(r.Modalities, `\`), tag.NumberOfStudyRelatedSeries: strconv.Itoa(r.Series),
			tag.NumberOfStudyRelatedInstances: strconv.Itoa(r.Instances)})
	}
	return out, err
}
