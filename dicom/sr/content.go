package sr

import (
	"sort"
	"strconv"
	"strings"

	sdicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/radraft/radraft/dicom"
)

// builder makes elements, keeping the first error (an unknown tag or a
// value of the wrong type: programming errors, caught by the tests).
type builder struct{ err error }

func (b *builder) el(t tag.Tag, v any) *sdicom.Element {
	e, err := sdicom.NewElement(t, v)
	if err != nil && b.err == nil {
		b.err = err
	}
	return e
}

func (b *builder) str(t tag.Tag, v string) *sdicom.Element { return b.el(t, []string{v}) }

// seq makes a sequence of items, each sorted by tag.
func (b *builder) seq(t tag.Tag, items ...[]*sdicom.Element) *sdicom.Element {
	if items == nil {
		items = [][]*sdicom.Element{}
	}
	for _, it := range items {
		sortElements(it)
	}
	return b.el(t, items)
}

func sortElements(els []*sdicom.Element) {
	sort.Slice(els, func(i, j int) bool {
		a, c := els[i].Tag, els[j].Tag
		return a.Group < c.Group || a.Group == c.Group && a.Element < c.Element
	})
}

// code is a coded concept (Code Sequence Macro).
type code struct{ value, scheme, meaning string }

func (b *builder) codeItem(c code) []*sdicom.Element {
	return []*sdicom.Element{
		b.str(tag.CodeValue, c.value), b.str(tag.CodingSchemeDesignator, c.scheme), b.str(tag.CodeMeaning, c.meaning),
	}
}

// Concepts used in the tree (PS3.16: DCM, LOINC).
var (
	cReport       = code{"18748-4", "LN", "Diagnostic Imaging Report"}
	cObserverType = code{"121005", "DCM", "Observer Type"}
	cPerson       = code{"121006", "DCM", "Person"}
	cDevice       = code{"121007", "DCM", "Device"}
	cPersonName   = code{"121008", "DCM", "Person Observer Name"}
	cDeviceUID    = code{"121012", "DCM", "Device Observer UID"}
	cDeviceName   = code{"121013", "DCM", "Device Observer Name"}
	cDeviceMaker  = code{"121014", "DCM", "Device Observer Manufacturer"}
	cDeviceModel  = code{"121015", "DCM", "Device Observer Model Name"}
	cHistory      = code{"121060", "DCM", "History"}
	cIndications  = code{"121109", "DCM", "Indications for Procedure"}
	cComment      = code{"121106", "DCM", "Comment"}
	cFindings     = code{"121070", "DCM", "Findings"}
	cFinding      = code{"121071", "DCM", "Finding"}
)

// node is one content item.
type node struct {
	rel, vt  string // relationship (empty for the root), value type
	concept  code
	text     string // TEXT, PNAME, UIDREF value
	code     *code  // CODE value
	children []node
}

func (b *builder) item(n node) []*sdicom.Element {
	els := []*sdicom.Element{
		b.str(tag.ValueType, n.vt),
		b.seq(tag.ConceptNameCodeSequence, b.codeItem(n.concept)),
	}
	if n.rel != "" {
		els = append(els, b.str(tag.RelationshipType, n.rel))
	}
	switch n.vt {
	case "TEXT":
		els = append(els, b.str(tag.TextValue, n.text))
	case "PNAME":
		els = append(els, b.str(tag.PersonName, n.text))
	case "UIDREF":
		els = append(els, b.str(tag.UID, n.text))
	case "CODE":
		els = append(els, b.seq(tag.ConceptCodeSequence, b.codeItem(*n.code)))
	case "CONTAINER":
		els = append(els, b.str(tag.ContinuityOfContent, "SEPARATE"))
	}
	if len(n.children) > 0 {
		items := make([][]*sdicom.Element, len(n.children))
		for i, c := range n.children {
			items[i] = b.item(c)
		}
		els = append(els, b.seq(tag.ContentSequence, items...))
	}
	return els
}

func text(rel string, c code, v string) node { return node{rel: rel, vt: "TEXT", concept: c, text: v} }

// observer is TID 1002 (person) or TID 1004 (device) under HAS OBS CONTEXT.
func (d *Document) observer() []node {
	const ctx = "HAS OBS CONTEXT"
	if d.Kind == AIDraft {
		ns := []node{
			{rel: ctx, vt: "CODE", concept: cObserverType, code: &cDevice},
			{rel: ctx, vt: "UIDREF", concept: cDeviceUID, text: d.Device.UID},
		}
		for _, p := range []struct {
			c code
			v string
		}{{cDeviceName, d.Device.Name}, {cDeviceMaker, d.Device.Manufacturer}, {cDeviceModel, d.Device.ModelName}} {
			if p.v != "" {
				ns = append(ns, text(ctx, p.c, truncate(p.v, 64)))
			}
		}
		return ns
	}
	return []node{
		{rel: ctx, vt: "CODE", concept: cObserverType, code: &cPerson},
		{rel: ctx, vt: "PNAME", concept: cPersonName, text: d.Observer},
	}
}

func (d *Document) tree() node {
	root := node{vt: "CONTAINER", concept: cReport, children: d.observer()}
	if ind := strings.TrimSpace(d.Indication); ind != "" {
		hist := node{rel: "CONTAINS", vt: "CONTAINER", concept: cHistory,
			children: []node{text("CONTAINS", cIndications, ind)}}
		if d.IndicationSource != "" {
			hist.children = append(hist.children, text("CONTAINS", cComment, "Indication source: "+d.IndicationSource))
		}
		root.children = append(root.children, hist)
	}
	root.children = append(root.children, node{rel: "CONTAINS", vt: "CONTAINER", concept: cFindings,
		children: []node{text("CONTAINS", cFinding, d.Findings)}})
	return root
}

// hierarchical is the Hierarchical SOP Instance Reference Macro of refs,
// one item per series.
func (b *builder) hierarchical(studyUID string, refs []Ref) []*sdicom.Element {
	var series []string
	bySeries := map[string][][]*sdicom.Element{}
	for _, r := range refs {
		if _, ok := bySeries[r.SeriesUID]; !ok {
			series = append(series, r.SeriesUID)
		}
		bySeries[r.SeriesUID] = append(bySeries[r.SeriesUID], []*sdicom.Element{
			b.str(tag.ReferencedSOPClassUID, r.SOPClassUID), b.str(tag.ReferencedSOPInstanceUID, r.SOPInstanceUID),
		})
	}
	var items [][]*sdicom.Element
	for _, s := range series {
		items = append(items, []*sdicom.Element{
			b.str(tag.SeriesInstanceUID, s), b.seq(tag.ReferencedSOPSequence, bySeries[s]...),
		})
	}
	return []*sdicom.Element{b.str(tag.StudyInstanceUID, studyUID), b.seq(tag.ReferencedSeriesSequence, items...)}
}

// elements is the whole dataset, file meta included.
func (d *Document) elements(b *builder) []*sdicom.Element {
	draft := d.Kind == AIDraft
	sop := InstanceUID(d.ReportID, d.Version)
	els := []*sdicom.Element{
		b.el(tag.FileMetaInformationVersion, []byte{0, 1}),
		b.str(tag.MediaStorageSOPClassUID, BasicTextSR),
		b.str(tag.MediaStorageSOPInstanceUID, sop),
		b.str(tag.TransferSyntaxUID, dicom.ExplicitVRLittleEndian),
		b.str(tag.ImplementationClassUID, dicom.ImplementationClassUID),
		b.str(tag.ImplementationVersionName, dicom.ImplementationVersionName),
	}
	els = append(els, d.headerElements(b, sop, draft)...)
	els = append(els, d.documentElements(b)...)
	root := b.item(d.tree())
	els = append(els, root...)
	sortElements(els)
	return els
}

// headerElements: SOP Common, Patient, General Study, SR Document Series,
// General Equipment.
func (d *Document) headerElements(b *builder, sop string, draft bool) []*sdicom.Element {
	seriesNumber := "9001"
	if draft {
		seriesNumber = "9002"
	}
	return []*sdicom.Element{
		b.str(tag.SpecificCharacterSet, "ISO_IR 192"),
		b.str(tag.InstanceCreationDate, da(d.Time)),
		b.str(tag.InstanceCreationTime, tm(d.Time)),
		b.str(tag.SOPClassUID, BasicTextSR),
		b.str(tag.SOPInstanceUID, sop),
		b.str(tag.StudyDate, d.StudyDate),
		b.str(tag.StudyTime, d.StudyTime),
		b.str(tag.ContentDate, da(d.Time)),
		b.str(tag.ContentTime, tm(d.Time)),
		b.str(tag.AccessionNumber, truncate(d.AccessionNumber, 16)),
		b.str(tag.Modality, "SR"),
		b.str(tag.Manufacturer, "radraft"),
		b.str(tag.ReferringPhysicianName, d.ReferringPhysician),
		b.str(tag.TimezoneOffsetFromUTC, d.Time.Format("-0700")),
		b.str(tag.SeriesDescription, map[bool]string{false: "Report", true: "AI draft (preliminary)"}[draft]),
		b.seq(tag.ReferencedPerformedProcedureStepSequence),
		b.str(tag.PatientName, d.PatientName),
		b.str(tag.PatientID, truncate(d.PatientID, 64)),
		b.str(tag.PatientBirthDate, d.PatientBirthDate),
		b.str(tag.PatientSex, d.PatientSex),
		b.str(tag.SoftwareVersions, dicom.ImplementationVersionName),
		b.str(tag.StudyInstanceUID, d.StudyUID),
		b.str(tag.SeriesInstanceUID, SeriesUID(d.ReportID, draft)),
		b.str(tag.StudyID, truncate(d.StudyID, 16)),
		b.str(tag.SeriesNumber, seriesNumber),
		b.str(tag.InstanceNumber, strconv.Itoa(d.Version)),
	}
}

// documentElements: SR Document General (flags, observers, references).
func (d *Document) documentElements(b *builder) []*sdicom.Element {
	els := []*sdicom.Element{
		b.str(tag.CompletionFlag, "COMPLETE"),
		b.seq(tag.PerformedProcedureCodeSequence),
		b.seq(tag.ContentTemplateSequence, []*sdicom.Element{
			b.str(tag.MappingResource, "DCMR"), b.str(tag.TemplateIdentifier, "2000"),
		}),
		b.seq(tag.ReferencedRequestSequence, d.request(b)),
	}
	if d.Kind == AIDraft {
		els = append(els, b.str(tag.VerificationFlag, "UNVERIFIED"), b.str(tag.PreliminaryFlag, "PRELIMINARY"))
	} else {
		els = append(els, b.str(tag.VerificationFlag, "VERIFIED"), b.str(tag.PreliminaryFlag, "FINAL"),
			b.seq(tag.VerifyingObserverSequence, []*sdicom.Element{
				b.str(tag.VerifyingObserverName, d.Observer),
				b.seq(tag.VerifyingObserverIdentificationCodeSequence),
				b.str(tag.VerifyingOrganization, truncate(firstNonEmpty(d.Organization, "radraft"), 64)),
				b.str(tag.VerificationDateTime, dt(d.Time)),
			}))
	}
	if d.Kind == Amendment {
		pred := []Ref{{SeriesUID: SeriesUID(d.ReportID, false), SOPClassUID: BasicTextSR,
			SOPInstanceUID: InstanceUID(d.ReportID, d.PredecessorVersion)}}
		els = append(els, b.seq(tag.PredecessorDocumentsSequence, b.hierarchical(d.StudyUID, pred)))
	}
	if len(d.Evidence) > 0 {
		els = append(els, b.seq(tag.CurrentRequestedProcedureEvidenceSequence, b.hierarchical(d.StudyUID, d.Evidence)))
	}
	return els
}

// request is the Referenced Request Sequence item: the order this report answers.
func (d *Document) request(b *builder) []*sdicom.Element {
	proc := []*sdicom.Element{b.seq(tag.RequestedProcedureCodeSequence)}
	if d.ProcedureCode != "" {
		proc = []*sdicom.Element{b.seq(tag.RequestedProcedureCodeSequence, b.codeItem(code{
			truncate(d.ProcedureCode, 16), "99RIS", truncate(firstNonEmpty(d.ProcedureText, d.ProcedureCode), 64)}))}
	}
	return append(proc,
		b.str(tag.StudyInstanceUID, d.StudyUID),
		b.seq(tag.ReferencedStudySequence),
		b.str(tag.AccessionNumber, truncate(d.AccessionNumber, 16)),
		b.str(tag.PlacerOrderNumberImagingServiceRequest, truncate(d.PlacerOrderNumber, 64)),
		b.str(tag.FillerOrderNumberImagingServiceRequest, truncate(d.FillerOrderNumber, 64)),
		b.str(tag.RequestedProcedureID, ""),
		b.str(tag.RequestedProcedureDescription, truncate(d.ProcedureText, 64)),
	)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

func firstNonEmpty(a ...string) string {
	for _, s := range a {
		if s != "" {
			return s
		}
	}
	return ""
}
