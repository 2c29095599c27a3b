package scp

import (
	"errors"
	"fmt"
	"io"
	"strings"

	sdicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
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

// indicationTags are where an indication may hide in DICOM headers, in the
// order they are preferred.
var indicationTags = []struct {
	t    tag.Tag
	name string
}{
	{tag.Tag{Group: 0x0040, Element: 0x1002}, "ReasonForTheRequestedProcedure"},
	{tag.Tag{Group: 0x0032, Element: 0x1060}, "RequestedProcedureDescription"},
	{tag.Tag{Group: 0x0008, Element: 0x1080}, "AdmittingDiagnosesDescription"},
	{tag.Tag{Group: 0x0032, Element: 0x1030}, "ReasonForStudy"},
}

// knownVRs are the value representations of PS3.5 6.2 (and what the parser
// reports for implicit VR elements it does not know).
var knownVRs = map[string]bool{}

func init() {
	for _, vr := range strings.Fields(`AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV NA`) {
		knownVRs[vr] = true
	}
	knownVRs[tag.UnknownVR] = true
}

var pixelDataTag = tag.Tag{Group: 0x7FE0, Element: 0x0010}

// readHeaders parses the Part 10 file in r (size bytes) up to the pixel
// data, which is skipped unread, and returns the indexed attributes.
func readHeaders(r io.Reader, size int64) (h *headers, err error) {
	defer func() {
		if p := recover(); p != nil {
			h, err = nil, fmt.Errorf("dataset parser failed: %v", p)
		}
	}()
	p, err := sdicom.NewParser(r, size, nil, sdicom.SkipPixelData(), sdicom.AllowUnknownSpecificCharacterSet())
	if err != nil {
		return nil, err
	}
	ds := sdicom.Dataset{}
	for {
		el, err := p.Next()
		if errors.Is(err, sdicom.ErrorEndOfDICOM) || errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if el.Tag == pixelDataTag {
			break
		}
		if !knownVRs[el.RawValueRepresentation] {
			return nil, fmt.Errorf("element %v has an invalid VR", el.Tag)
		}
		ds.Elements = append(ds.Elements, el)
	}
	str := func(g, e uint16) string { return firstString(&ds, tag.Tag{Group: g, Element: e}) }
	h = &headers{
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
		Rows:               firstInt(&ds, tag.Tag{Group: 0x0028, Element: 0x0010}),
		Columns:            firstInt(&ds, tag.Tag{Group: 0x0028, Element: 0x0011}),
	}
	for _, it := range indicationTags {
		if v := joinStrings(&ds, it.t); v != "" {
			h.Indication, h.IndicationSource = v, it.name
			break
		}
	}
	h.ViewCode = firstCodeValue(&ds, tag.Tag{Group: 0x0054, Element: 0x0220})
	return h, nil
}

func strings_(ds *sdicom.Dataset, t tag.Tag) []string {
	el, err := ds.FindElementByTag(t)
	if err != nil || el.Value == nil {
		return nil
	}
	v, ok := el.Value.GetValue().([]string)
	if !ok {
		return nil
	}
	return v
}

func firstString(ds *sdicom.Dataset, t tag.Tag) string {
	v := strings_(ds, t)
	if len(v) == 0 {
		return ""
	}
	return strings.TrimRight(strings.TrimSpace(v[0]), "\x00")
}

func joinStrings(ds *sdicom.Dataset, t tag.Tag) string {
	return strings.TrimSpace(strings.Join(strings_(ds, t), `\`))
}

func firstInt(ds *sdicom.Dataset, t tag.Tag) int {
	el, err := ds.FindElementByTag(t)
	if err != nil || el.Value == nil {
		return 0
	}
	if v, ok := el.Value.GetValue().([]int); ok && len(v) > 0 {
		return v[0]
	}
	return 0
}

// firstCodeValue returns Code Value (0008,0100) of the first item of the
// code sequence t.
func firstCodeValue(ds *sdicom.Dataset, t tag.Tag) string {
	el, err := ds.FindElementByTag(t)
	if err != nil || el.Value == nil {
		return ""
	}
	items, ok := el.Value.GetValue().([]*sdicom.SequenceItemValue)
	if !ok || len(items) == 0 {
		return ""
	}
	elems, ok := items[0].GetValue().([]*sdicom.Element)
	if !ok {
		return ""
	}
	item := sdicom.Dataset{Elements: elems}
	return firstString(&item, tag.Tag{Group: 0x0008, Element: 0x0100})
}
