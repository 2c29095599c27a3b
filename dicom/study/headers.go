package study

import (
	"fmt"
	"os"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// Headers are the view-related attributes of a stored file that the index
// does not keep in columns (it keeps view position, view code and the
// series/study descriptions).
type Headers struct {
	ViewCode                      string
	ViewPosition                  string
	SeriesDescription             string
	StudyDescription              string
	ProtocolName                  string
	ProcessingDescription         string
	ProcedureCodeMeanings         []string
	RequestedProcedureDescription string
}

// ReadHeaders parses a Part 10 file's elements, skipping pixel data.
func ReadHeaders(path string) (*Headers, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	ds, err := dicom.Parse(f, st.Size(), nil, dicom.SkipPixelData())
	if err != nil {
		return nil, fmt.Errorf("study: parse headers: %w", err)
	}
	h := &Headers{
		ViewPosition:                  str(&ds, tag.ViewPosition),
		SeriesDescription:             str(&ds, tag.SeriesDescription),
		StudyDescription:              str(&ds, tag.StudyDescription),
		ProtocolName:                  str(&ds, tag.ProtocolName),
		ProcessingDescription:         str(&ds, tag.AcquisitionDeviceProcessingDescription),
		RequestedProcedureDescription: str(&ds, tag.RequestedProcedureDescription),
	}
	if items := seqItems(&ds, tag.ViewCodeSequence); len(items) > 0 {
		h.ViewCode = itemStr(items[0], tag.CodeValue)
	}
	for _, it := range seqItems(&ds, tag.ProcedureCodeSequence) {
		if m := itemStr(it, tag.CodeMeaning); m != "" {
			h.ProcedureCodeMeanings = append(h.ProcedureCodeMeanings, m)
		}
	}
	return h, nil
}

func str(ds *dicom.Dataset, t tag.Tag) string {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return ""
	}
	return firstString(e)
}

func firstString(e *dicom.Element) string {
	if v, ok := e.Value.GetValue().([]string); ok && len(v) > 0 {
		return strings.TrimSpace(strings.Trim(v[0], "\x00"))
	}
	return ""
}

func seqItems(ds *dicom.Dataset, t tag.Tag) [][]*dicom.Element {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return nil
	}
	items, ok := e.Value.GetValue().([]*dicom.SequenceItemValue)
	if !ok {
		return nil
	}
	out := make([][]*dicom.Element, 0, len(items))
	for _, it := range items {
		if els, ok := it.GetValue().([]*dicom.Element); ok {
			out = append(out, els)
		}
	}
	return out
}

func itemStr(item []*dicom.Element, t tag.Tag) string {
	for _, e := range item {
		if e.Tag == t && e.Value != nil {
			return firstString(e)
		}
	}
	return ""
}
