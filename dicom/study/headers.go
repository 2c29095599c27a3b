package study

import (
	"fmt"

	"github.com/radraft/radraft/dicom/dataset"
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

var (
	tagViewPosition       = dataset.Tag{Group: 0x0018, Element: 0x5101}
	tagSeriesDescription  = dataset.Tag{Group: 0x0008, Element: 0x103E}
	tagStudyDescription   = dataset.Tag{Group: 0x0008, Element: 0x1030}
	tagProtocolName       = dataset.Tag{Group: 0x0018, Element: 0x1030}
	tagProcessingDesc     = dataset.Tag{Group: 0x0018, Element: 0x1400}
	tagRequestedProcedure = dataset.Tag{Group: 0x0032, Element: 0x1060}
	tagViewCodeSequence   = dataset.Tag{Group: 0x0054, Element: 0x0220}
	tagProcedureCodeSeq   = dataset.Tag{Group: 0x0008, Element: 0x1032}
	tagCodeValue          = dataset.Tag{Group: 0x0008, Element: 0x0100}
	tagCodeMeaning        = dataset.Tag{Group: 0x0008, Element: 0x0104}
	viewHeaders           = dataset.Want{
		Tags: []dataset.Tag{tagViewPosition, tagSeriesDescription, tagStudyDescription, tagProtocolName,
			tagProcessingDesc, tagRequestedProcedure},
		Sequences: map[dataset.Tag][]dataset.Tag{tagViewCodeSequence: {tagCodeValue}, tagProcedureCodeSeq: {tagCodeMeaning}},
	}
)

// ReadHeaders reads a Part 10 file's view-related elements with radraft's
// one header reader (dicom/dataset), skipping pixel data unread.
func ReadHeaders(path string) (*Headers, error) {
	ds, err := dataset.ReadFile(path, viewHeaders)
	if err != nil {
		return nil, fmt.Errorf("study: parse headers: %w", err)
	}
	h := &Headers{
		ViewPosition:                  ds.String(tagViewPosition),
		SeriesDescription:             ds.String(tagSeriesDescription),
		StudyDescription:              ds.String(tagStudyDescription),
		ProtocolName:                  ds.String(tagProtocolName),
		ProcessingDescription:         ds.String(tagProcessingDesc),
		RequestedProcedureDescription: ds.String(tagRequestedProcedure),
	}
	if items := ds.Items(tagViewCodeSequence); len(items) > 0 {
		h.ViewCode = items[0].String(tagCodeValue)
	}
	for _, it := range ds.Items(tagProcedureCodeSeq) {
		if m := it.String(tagCodeMeaning); m != "" {
			h.ProcedureCodeMeanings = append(h.ProcedureCodeMeanings, m)
		}
	}
	return h, nil
}
