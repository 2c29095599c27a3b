package scp

import (
	"io"
	"strings"

	"github.com/radraft/radraft/dicom/dataset"
)

// headers are the attributes radraft indexes, read from a received file.
type headers struct {
	SOPClassUID, SOPInstanceUID, StudyUID, SeriesUID string

	AccessionNumber, PatientID, PatientName, PatientBirthDate, PatientSex string
	StudyDate, StudyTime, StudyDescription, ReferringPhysician            string
	Indication, IndicationSource                                          string

	Modality, SeriesNumber, SeriesDescription, BodyPart string

	InstanceNumber, ViewPosition, ViewCode, ImageLaterality, Photometric string
	Rows, Columns                                                        int
}

func tg(g, e uint16) dataset.Tag { return dataset.Tag{Group: g, Element: e} }

// indicationTags are where an indication may hide in DICOM headers, in the
// order they are preferred.
var indicationTags = []struct {
	t    dataset.Tag
	name string
}{
	{tg(0x0040, 0x1002), "ReasonForTheRequestedProcedure"},
	{tg(0x0032, 0x1060), "RequestedProcedureDescription"},
	{tg(0x0008, 0x1080), "AdmittingDiagnosesDescription"},
	{tg(0x0032, 0x1030), "ReasonForStudy"},
}

var (
	tagViewCodeSeq = tg(0x0054, 0x0220)
	tagCodeValue   = tg(0x0008, 0x0100)
)

// indexedWant is what readHeaders asks the dataset reader for.
var indexedWant = func() dataset.Want {
	w := dataset.Want{Sequences: map[dataset.Tag][]dataset.Tag{tagViewCodeSeq: {tagCodeValue}}}
	for _, t := range []dataset.Tag{tg(0x0008, 0x0016), tg(0x0008, 0x0018), tg(0x0020, 0x000D), tg(0x0020, 0x000E),
		tg(0x0008, 0x0050), tg(0x0010, 0x0020), tg(0x0010, 0x0010), tg(0x0010, 0x0030), tg(0x0010, 0x0040),
		tg(0x0008, 0x0020), tg(0x0008, 0x0030), tg(0x0008, 0x1030), tg(0x0008, 0x0090), tg(0x0008, 0x0060),
		tg(0x0020, 0x0011), tg(0x0008, 0x103E), tg(0x0018, 0x0015), tg(0x0020, 0x0013), tg(0x0018, 0x5101),
		tg(0x0020, 0x0062), tg(0x0028, 0x0004), tg(0x0028, 0x0010), tg(0x0028, 0x0011)} {
		w.Tags = append(w.Tags, t)
	}
	for _, it := range indicationTags {
		w.Tags = append(w.Tags, it.t)
	}
	return w
}()

// readHeaders reads the Part 10 file in r (size bytes) with the one DICOM
// header reader (dicom/dataset): every element length is checked, the
// pixel data and anything not indexed are skipped unread, and a dataset
// that ends inside an element is an error.
func readHeaders(r io.ReadSeeker, size int64) (*headers, error) {
	ds, err := dataset.ReadPart10(r, size, indexedWant)
	if err != nil {
		return nil, err
	}
	str := func(g, e uint16) string { return ds.String(tg(g, e)) }
	h := &headers{
		SOPClassUID:        str(0x0008, 0x0016),
		SOPInstanceUID:     str(0x0008, 0x0018),
		StudyUID:           str(0x0020, 0x000D),
		SeriesUID:          str(0x0020, 0x000E),
		AccessionNumber:    str(0x0008, 0x0050),
		PatientID:          str(0x0010, 0x0020),
		PatientName:        str(0x0010, 0x0010),
		PatientBirthDate:   str(0x0010, 0x0030),
		PatientSex:         str(0x0010, 0x0040),
		StudyDate:          str(0x0008, 0x0020),
		StudyTime:          str(0x0008, 0x0030),
		StudyDescription:   str(0x0008, 0x1030),
		ReferringPhysician: str(0x0008, 0x0090),
		Modality:           str(0x0008, 0x0060),
		SeriesNumber:       str(0x0020, 0x0011),
		SeriesDescription:  str(0x0008, 0x103E),
		BodyPart:           str(0x0018, 0x0015),
		InstanceNumber:     str(0x0020, 0x0013),
		ViewPosition:       str(0x0018, 0x5101),
		ImageLaterality:    str(0x0020, 0x0062),
		Photometric:        str(0x0028, 0x0004),
		Rows:               ds.Uint16(tg(0x0028, 0x0010)),
		Columns:            ds.Uint16(tg(0x0028, 0x0011)),
	}
	for _, it := range indicationTags {
		if v := strings.Join(ds.Strings(it.t), `\`); v != "" {
			h.Indication, h.IndicationSource = v, it.name
			break
		}
	}
	if items := ds.Items(tagViewCodeSeq); len(items) > 0 {
		h.ViewCode = items[0].String(tagCodeValue)
	}
	return h, nil
}
