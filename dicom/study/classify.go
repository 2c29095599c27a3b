package study

import (
	"fmt"
	"sort"
	"strings"

	"github.com/radraft/radraft/dicom/pixels"
	"github.com/radraft/radraft/ingest"
)

// View is what an image shows, as far as its headers tell.
type View int

const (
	ViewUnknown View = iota // nothing decisive in the headers
	ViewFrontal             // AP, PA or "frontal"
	ViewLateral
	ViewOther // oblique, decubitus
)

func (v View) String() string {
	return [...]string{"unknown", "frontal", "lateral", "other"}[v]
}

// Image is one instance with every header the classifier reads. The
// indexer's columns fill most of it; ReadHeaders fills the rest from the file.
type Image struct {
	SOPInstanceUID    string
	SOPClassUID       string
	Modality          string // the series' Modality (0008,0060)
	TransferSyntaxUID string
	Rows, Columns     int
	// Order is the arrival rank (higher = later), the last tie-breaker
	// before the UID.
	Order int

	ViewCode          string // first code value of View Code Sequence (0054,0220)
	ViewPosition      string // (0018,5101)
	SeriesDescription string // (0008,103E)
	ProtocolName      string // (0018,1030)
	// AcquisitionDeviceProcessingDescription (0018,1400): CR readers often
	// put the exam menu item here ("CHEST PA").
	ProcessingDescription string
	StudyDescription      string   // (0008,1030), study level
	ProcedureCodeMeanings []string // Procedure Code Sequence (0008,1032) code meanings
	// RequestedProcedureDescription (0032,1060).
	RequestedProcedureDescription string
}

// Classification is the verdict on one image.
type Classification struct {
	View View
	// Projection is AP or PA for a frontal image when known.
	Projection string
	// Source names the attribute that decided ("View Position PA").
	Source string
	// strength ranks sources: the more image-specific, the higher.
	strength int
	// Ambiguous lists text attributes that named both frontal and lateral
	// views (so decided nothing), for the needs-view reason.
	Ambiguous []string
}

// Known View Code Sequence codes (DICOM CID 4010 "DX View"): SNOMED CT and
// the legacy SNOMED-RT values of the same concepts.
var viewCodes = map[string]struct {
	view View
	proj string
	name string
}{
	"399348003": {ViewFrontal, "AP", "AP"},
	"R-10206":   {ViewFrontal, "AP", "AP"},
	"272479007": {ViewFrontal, "PA", "PA"},
	"R-10214":   {ViewFrontal, "PA", "PA"},
	"399173006": {ViewLateral, "", "left lateral"},
	"R-10236":   {ViewLateral, "", "left lateral"},
	"399198007": {ViewLateral, "", "right lateral"},
	"R-10232":   {ViewLateral, "", "right lateral"},
}

// Classify decides one image's view from, in order: View Code Sequence, View
// Position, Series Description, Protocol Name, Study Description, Procedure
// Code meanings, Acquisition Device Processing Description, Requested
// Procedure Description. Image- and series-level attributes come before the
// study-level ones because a study description ("CHEST PA AND LAT") may
// cover several images; the processing description (a CR reader's
// processing menu item, e.g. "CHEST AP PORT X-WISE GRID") names an
// image-processing preset rather than the projection, so it only backs up
// the descriptions. The first attribute that names exactly one kind of
// view decides.
func Classify(im Image) Classification {
	var c Classification
	if code := strings.TrimSpace(im.ViewCode); code != "" {
		if k, ok := viewCodes[code]; ok {
			return Classification{View: k.view, Projection: k.proj, strength: 8,
				Source: fmt.Sprintf("View Code Sequence %s (%s)", code, k.name)}
		}
	}
	if vp := strings.ToUpper(strings.TrimSpace(im.ViewPosition)); vp != "" {
		switch vp {
		case "AP", "PA":
			return Classification{View: ViewFrontal, Projection: vp, Source: "View Position " + vp, strength: 7}
		case "LL", "RL", "LAT", "LATERAL", "LLAT", "RLAT":
			return Classification{View: ViewLateral, Source: "View Position " + vp, strength: 7}
		case "RLD", "LLD", "RLO", "LLO", "RAO", "LAO", "RPO", "LPO", "OBL", "OBLIQUE", "DECUBITUS":
			return Classification{View: ViewOther, Source: "View Position " + vp, strength: 7}
		}
	}
	texts := []struct {
		attr     string
		values   []string
		strength int
	}{
		{"Series Description", []string{im.SeriesDescription}, 6},
		{"Protocol Name", []string{im.ProtocolName}, 5},
		{"Study Description", []string{im.StudyDescription}, 4},
		{"Procedure Code", im.ProcedureCodeMeanings, 3},
		{"Acquisition Device Processing Description", []string{im.ProcessingDescription}, 2},
		{"Requested Procedure Description", []string{im.RequestedProcedureDescription}, 1},
	}
	for _, t := range texts {
		for _, v := range t.values {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			view, proj, ambiguous := textView(v)
			label := fmt.Sprintf("%s '%s'", t.attr, v)
			if ambiguous {
				c.Ambiguous = append(c.Ambiguous, label)
				continue
			}
			if view != ViewUnknown {
				c.View, c.Projection, c.Source, c.strength = view, proj, label, t.strength
				return c
			}
		}
	}
	return c
}

// textView reads a view out of free text by whole words: AP, PA, FRONTAL
// (frontal), LAT, LATERAL, LL, RL (lateral), OBL, OBLIQUE, DECUB,
// DECUBITUS (other). Text naming both frontal and lateral views ("PA AND
// LAT", "2 VIEWS PA/LAT") is ambiguous.
func textView(s string) (View, string, bool) {
	u := strings.ToUpper(s)
	u = strings.NewReplacer("P.A.", "PA", "A.P.", "AP", "P-A", "PA", "A-P", "AP").Replace(u)
	words := strings.FieldsFunc(u, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
	var frontal, lateral, other bool
	proj := ""
	for _, w := range words {
		switch w {
		case "AP", "PA":
			frontal = true
			if proj == "" || proj == w {
				proj = w
			} else {
				proj = "-" // both named: frontal, projection unknown
			}
		case "FRONTAL", "FRONT":
			frontal = true
		case "LAT", "LATERAL", "LL", "RL", "LLAT", "RLAT":
			lateral = true
		case "OBL", "OBLIQUE", "DECUB", "DECUBITUS":
			other = true
		}
	}
	if proj == "-" {
		proj = ""
	}
	switch {
	case frontal && (lateral || other):
		return ViewUnknown, "", true
	case frontal:
		return ViewFrontal, proj, false
	case lateral && other:
		return ViewUnknown, "", true
	case lateral:
		return ViewLateral, "", false
	case other:
		return ViewOther, "", false
	}
	return ViewUnknown, "", false
}

// Decide picks a study's frontal image among its projection radiographs
// (Candidate); the others are named in the reason as skipped. Among several frontal images it
// prefers, in order: pixels this server can decode (native or JPEG
// baseline), PA over AP (the standard erect projection), the stronger
// evidence (image-level over study-level), the larger image (rows x
// columns), the later arrival, and finally the lowest SOP Instance UID so the
// choice is reproducible. With no frontal image the decision is left to a
// person, with a reason that counts what was found.
func Decide(all []Image) ingest.ViewDecision {
	if len(all) == 0 {
		return ingest.ViewDecision{Reason: "no images in the study"}
	}
	var images, skipped []Image
	var why []string
	for _, im := range all {
		if ok, w := Candidate(im); ok {
			images = append(images, im)
		} else {
			skipped, why = append(skipped, im), append(why, w)
		}
	}
	skip := skippedReason(skipped, why)
	if len(images) == 0 {
		return ingest.ViewDecision{Reason: "needs a view decision: no projection radiograph in the study; " + skip}
	}
	tally := tallyViews(images)
	var d ingest.ViewDecision
	if len(tally.frontals) == 0 {
		d.Reason = tally.noFrontalReason(len(images))
	} else {
		d = chooseFrontal(tally.frontals)
	}
	if skip != "" {
		d.Reason += "; " + skip
	}
	return d
}

// viewCandidate is one projection radiograph with its classification.
type viewCandidate struct {
	im Image
	c  Classification
}

// viewTally is what Classify found across a study's candidates: the
// frontal images, a count per view, the first evidence for a lateral and
// an oblique/decubitus view, and the sources naming several views.
type viewTally struct {
	frontals   []viewCandidate
	counts     map[View]int
	lateralSrc string
	otherSrc   string
	ambiguous  []string
}

func tallyViews(images []Image) viewTally {
	t := viewTally{counts: map[View]int{}}
	for _, im := range images {
		c := Classify(im)
		t.counts[c.View]++
		switch c.View {
		case ViewFrontal:
			t.frontals = append(t.frontals, viewCandidate{im, c})
		case ViewLateral:
			if t.lateralSrc == "" {
				t.lateralSrc = c.Source
			}
		case ViewOther:
			if t.otherSrc == "" {
				t.otherSrc = c.Source
			}
		default:
			for _, a := range c.Ambiguous {
				if !contains(t.ambiguous, a) {
					t.ambiguous = append(t.ambiguous, a)
				}
			}
		}
	}
	return t
}

// noFrontalReason says, for a person, what was found among n images when
// none is frontal.
func (t viewTally) noFrontalReason(n int) string {
	var parts []string
	if k := t.counts[ViewLateral]; k > 0 {
		parts = append(parts, fmt.Sprintf("%d lateral (%s)", k, t.lateralSrc))
	}
	if k := t.counts[ViewOther]; k > 0 {
		parts = append(parts, fmt.Sprintf("%d oblique/decubitus (%s)", k, t.otherSrc))
	}
	if k := t.counts[ViewUnknown]; k > 0 {
		p := fmt.Sprintf("%d without view information", k)
		if len(t.ambiguous) > 0 {
			p = fmt.Sprintf("%d with ambiguous view information (%s names frontal and lateral views)", k, strings.Join(t.ambiguous, ", "))
		}
		parts = append(parts, p)
	}
	return "needs a view decision: no frontal image identified among " +
		plural(n, "image") + ": " + strings.Join(parts, "; ")
}

func projRank(p string) int {
	if p == "PA" {
		return 1
	}
	return 0
}

// frontalRules compare two frontal images, in Decide's order of
// preference: >0 when a is preferred.
var frontalRules = []struct {
	name string
	cmp  func(a, b viewCandidate) int
}{
	{"decodable pixels", func(a, b viewCandidate) int {
		return b2i(pixels.Decodable(a.im.TransferSyntaxUID)) - b2i(pixels.Decodable(b.im.TransferSyntaxUID))
	}},
	{"PA over AP", func(a, b viewCandidate) int { return projRank(a.c.Projection) - projRank(b.c.Projection) }},
	{"more specific evidence", func(a, b viewCandidate) int { return a.c.strength - b.c.strength }},
	{"largest image", func(a, b viewCandidate) int { return cmpInt(a.im.Rows*a.im.Columns, b.im.Rows*b.im.Columns) }},
	{"latest received", func(a, b viewCandidate) int { return cmpInt(a.im.Order, b.im.Order) }},
	{"lowest SOP Instance UID", func(a, b viewCandidate) int { return strings.Compare(b.im.SOPInstanceUID, a.im.SOPInstanceUID) }},
}

// chooseFrontal picks the preferred of one or more frontal images by
// frontalRules and names, when there were several, the rule that decided.
func chooseFrontal(frontals []viewCandidate) ingest.ViewDecision {
	sort.SliceStable(frontals, func(i, j int) bool {
		for _, r := range frontalRules {
			if c := r.cmp(frontals[i], frontals[j]); c != 0 {
				return c > 0
			}
		}
		return false
	})
	best := frontals[0]
	reason := best.c.Source
	if len(frontals) > 1 {
		rule := frontalRules[len(frontalRules)-1].name
		for _, r := range frontalRules {
			if r.cmp(best, frontals[1]) != 0 {
				rule = r.name
				break
			}
		}
		reason = fmt.Sprintf("%s; chosen among %d frontal images (%s)", reason, len(frontals), rule)
	}
	return ingest.ViewDecision{FrontalSOP: best.im.SOPInstanceUID, Reason: reason}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cmpInt(a, b int) int {
	switch {
	case a > b:
		return 1
	case a < b:
		return -1
	}
	return 0
}
