package study

import (
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		im   Image
		view View
		proj string
		src  string
	}{
		{"view code PA", Image{ViewCode: "272479007", ViewPosition: "LL"}, ViewFrontal, "PA", "View Code Sequence 272479007 (PA)"},
		{"view code AP", Image{ViewCode: "399348003"}, ViewFrontal, "AP", "View Code Sequence 399348003 (AP)"},
		{"view code left lateral", Image{ViewCode: "399173006", ViewPosition: "PA"}, ViewLateral, "", "View Code Sequence 399173006 (left lateral)"},
		{"view code right lateral", Image{ViewCode: "399198007"}, ViewLateral, "", "View Code Sequence 399198007 (right lateral)"},
		{"legacy code", Image{ViewCode: "R-10214"}, ViewFrontal, "PA", "View Code Sequence R-10214 (PA)"},
		{"unknown code falls through", Image{ViewCode: "123", ViewPosition: "AP"}, ViewFrontal, "AP", "View Position AP"},
		{"view position PA", Image{ViewPosition: "PA", SeriesDescription: "LAT"}, ViewFrontal, "PA", "View Position PA"},
		{"view position lowercase", Image{ViewPosition: "ap "}, ViewFrontal, "AP", "View Position AP"},
		{"view position LL", Image{ViewPosition: "LL"}, ViewLateral, "", "View Position LL"},
		{"view position lateral", Image{ViewPosition: "LATERAL"}, ViewLateral, "", "View Position LATERAL"},
		{"view position decubitus", Image{ViewPosition: "LLD"}, ViewOther, "", "View Position LLD"},
		{"series description", Image{SeriesDescription: "Chest Lat", StudyDescription: "XR CHEST AP"}, ViewLateral, "", "Series Description 'Chest Lat'"},
		{"protocol name", Image{ProtocolName: "CHEST PA", StudyDescription: "CHEST 2 VIEWS"}, ViewFrontal, "PA", "Protocol Name 'CHEST PA'"},
		{"processing description", Image{ProcessingDescription: "THORAX P.A."}, ViewFrontal, "PA", "Acquisition Device Processing Description 'THORAX P.A.'"},
		{"study description (the testdata CR)", Image{StudyDescription: "XR CHEST AP ONLY"}, ViewFrontal, "AP", "Study Description 'XR CHEST AP ONLY'"},
		{"ambiguous study description, procedure code decides", Image{StudyDescription: "CHEST PA AND LAT",
			ProcedureCodeMeanings: []string{"XR CHEST 2V PA/LAT", "XR CHEST AP"}}, ViewFrontal, "AP", "Procedure Code 'XR CHEST AP'"},
		{"requested procedure description", Image{RequestedProcedureDescription: "Portable chest AP"}, ViewFrontal, "AP", "Requested Procedure Description 'Portable chest AP'"},
		{"frontal word", Image{SeriesDescription: "Frontal"}, ViewFrontal, "", "Series Description 'Frontal'"},
		{"words only, not substrings", Image{StudyDescription: "CAPACITY PATELLA"}, ViewUnknown, "", ""},
		{"nothing", Image{StudyDescription: "CHEST"}, ViewUnknown, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Classify(c.im)
			if got.View != c.view || got.Projection != c.proj || got.Source != c.src {
				t.Fatalf("got %s %q %q, want %s %q %q", got.View, got.Projection, got.Source, c.view, c.proj, c.src)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	// MPEG2 video: a syntax no codec here decodes.
	const native, mpeg2 = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.4.100"
	const sc, ct = "1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.2"
	cases := []struct {
		name    string
		images  []Image
		frontal string
		reason  string // prefix
	}{
		{"single CR, study description", []Image{{SOPInstanceUID: "1", StudyDescription: "XR CHEST AP ONLY", TransferSyntaxUID: native}},
			"1", "Study Description 'XR CHEST AP ONLY'"},
		{"PA over AP", []Image{
			{SOPInstanceUID: "1", ViewPosition: "AP", TransferSyntaxUID: native, Rows: 3000, Columns: 3000},
			{SOPInstanceUID: "2", ViewPosition: "PA", TransferSyntaxUID: native, Rows: 100, Columns: 100},
			{SOPInstanceUID: "3", ViewPosition: "LL", TransferSyntaxUID: native}},
			"2", "View Position PA; chosen among 2 frontal images (PA over AP)"},
		{"decodable first", []Image{
			{SOPInstanceUID: "1", ViewPosition: "PA", TransferSyntaxUID: mpeg2},
			{SOPInstanceUID: "2", ViewPosition: "AP", TransferSyntaxUID: native}},
			"2", "View Position AP; chosen among 2 frontal images (decodable pixels)"},
		{"largest", []Image{
			{SOPInstanceUID: "1", ViewPosition: "PA", TransferSyntaxUID: native, Rows: 10, Columns: 10, Order: 1},
			{SOPInstanceUID: "2", ViewPosition: "PA", TransferSyntaxUID: native, Rows: 20, Columns: 10, Order: 0}},
			"2", "View Position PA; chosen among 2 frontal images (largest image)"},
		{"latest", []Image{
			{SOPInstanceUID: "1", ViewPosition: "PA", TransferSyntaxUID: native, Rows: 10, Columns: 10, Order: 0},
			{SOPInstanceUID: "2", ViewPosition: "PA", TransferSyntaxUID: native, Rows: 10, Columns: 10, Order: 1}},
			"2", "View Position PA; chosen among 2 frontal images (latest received)"},
		{"image evidence over study evidence", []Image{
			{SOPInstanceUID: "1", StudyDescription: "CHEST AP", TransferSyntaxUID: native},
			{SOPInstanceUID: "2", ViewPosition: "AP", StudyDescription: "CHEST AP", TransferSyntaxUID: native}},
			"2", "View Position AP; chosen among 2 frontal images (more specific evidence)"},
		{"lateral only", []Image{{SOPInstanceUID: "1", ViewPosition: "LL"}}, "",
			"needs a view decision: no frontal image identified among 1 image: 1 lateral (View Position LL)"},
		{"no information", []Image{{SOPInstanceUID: "1"}, {SOPInstanceUID: "2", ViewPosition: "RL"}}, "",
			"needs a view decision: no frontal image identified among 2 images: 1 lateral (View Position RL); 1 without view information"},
		{"ambiguous", []Image{{SOPInstanceUID: "1", StudyDescription: "CHEST PA+LAT"}, {SOPInstanceUID: "2", StudyDescription: "CHEST PA+LAT"}}, "",
			"needs a view decision: no frontal image identified among 2 images: 2 with ambiguous view information (Study Description 'CHEST PA+LAT' names frontal and lateral views)"},
		{"empty", nil, "", "no images in the study"},
		// Mixed studies as a PACS forwards them (issue 11).
		{"scanned requisition is not a candidate", []Image{
			{SOPInstanceUID: "1", SOPClassUID: sc, Modality: "OT", SeriesDescription: "REQUISITION", StudyDescription: "XR CHEST AP",
				Rows: 3508, Columns: 2480, TransferSyntaxUID: native},
			{SOPInstanceUID: "2", Modality: "CR", StudyDescription: "XR CHEST AP", Rows: 2140, Columns: 1760, TransferSyntaxUID: native}},
			"2", "Study Description 'XR CHEST AP'; skipped 1 object (not projection radiographs): " +
				"Secondary Capture of Modality OT 'REQUISITION' 2480x3508"},
		{"CT topogram saying AP is not a candidate", []Image{
			{SOPInstanceUID: "1", SOPClassUID: ct, Modality: "CT", SeriesDescription: "TOPOGRAM AP", Rows: 512, Columns: 512},
			{SOPInstanceUID: "2", Modality: "CR", ViewPosition: "LL"}},
			"", "needs a view decision: no frontal image identified among 1 image: 1 lateral (View Position LL); " +
				"skipped 1 object (not projection radiographs): CT image 'TOPOGRAM AP' 512x512"},
		{"SR, PR and KOS are not images", []Image{
			{SOPInstanceUID: "1", Modality: "CR", ViewPosition: "PA"},
			{SOPInstanceUID: "2", SOPClassUID: "1.2.840.10008.5.1.4.1.1.88.67", Modality: "SR", SeriesDescription: "DOSE"},
			{SOPInstanceUID: "3", SOPClassUID: "1.2.840.10008.5.1.4.1.1.11.1", Modality: "PR"},
			{SOPInstanceUID: "4", SOPClassUID: "1.2.840.10008.5.1.4.1.1.88.59", Modality: "KO"}},
			"1", "View Position PA; skipped 3 objects (not projection radiographs): structured report 'DOSE', " +
				"presentation state, key object selection"},
		{"only an SR", []Image{{SOPInstanceUID: "1", SOPClassUID: "1.2.840.10008.5.1.4.1.1.88.11", Modality: "SR"}},
			"", "needs a view decision: no projection radiograph in the study; skipped 1 object (not projection radiographs): structured report"},
		{"Secondary Capture of a chest film (DX) is a candidate", []Image{
			{SOPInstanceUID: "1", SOPClassUID: sc, Modality: "DX", ViewPosition: "PA"}},
			"1", "View Position PA"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i := range c.images {
				// Unless a case says otherwise, its images are CR objects.
				if c.images[i].SOPClassUID == "" {
					c.images[i].SOPClassUID = sopCR
				}
			}
			d := Decide(c.images)
			if d.FrontalSOP != c.frontal || !strings.HasPrefix(d.Reason, c.reason) ||
				(c.images != nil && c.images[0].SOPClassUID != sopCR && d.Reason != c.reason) {
				t.Fatalf("got %q %q, want %q %q", d.FrontalSOP, d.Reason, c.frontal, c.reason)
			}
		})
	}
}
