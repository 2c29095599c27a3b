package hl7

import (
	"fmt"
	"strings"

	"github.com/radraft/radraft/drafts"
)

// DefaultAccessionFields is where the accession number is looked for, in order.
var DefaultAccessionFields = []string{"IPC-1", "OBR-18", "OBR-3"}

// ParseAccessionFields parses a comma list such as "IPC-1,OBR-18,OBR-3"
// (each SEG-n or SEG-n.c).
func ParseAccessionFields(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.ToUpper(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if _, _, _, _, err := parsePath(p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("hl7: no accession fields in %q", s)
	}
	return out, nil
}

// Reject is why a message is not accepted: the acknowledgement to send.
// Text never contains message content.
type Reject struct {
	Code     AckCode // AE or AR
	ErrCode  string  // table 0357
	Location string  // e.g. OBR^1^18
	Text     string
}

func (r *Reject) Error() string { return fmt.Sprintf("hl7: %s %s: %s", r.Code, r.ErrCode, r.Text) }

// Extractor turns order messages into drafts.Order values.
type Extractor struct {
	// AccessionFields are tried in order; DefaultAccessionFields when nil.
	AccessionFields []string
}

// group is one order of a message: an ORC and what follows it.
type group struct {
	segs map[string]*Segment // first ORC, OBR, IPC, ZDS of the group
}

func (g *group) get(name string) *Segment { return g.segs[name] }

// Supported reports whether msgType (MSH-9 code^trigger) is an order we take.
func Supported(msgType string) bool {
	switch msgType {
	case "ORM^O01", "OMI^O23":
		return true
	}
	return false
}

// Extract reads the orders of an ORM^O01 or OMI^O23. A *Reject says which
// acknowledgement to send instead of storing it.
func (x *Extractor) Extract(m *Message) ([]drafts.Order, *Reject) {
	if rej := checkHeader(m.Segment("MSH")); rej != nil {
		return nil, rej
	}
	fields := x.AccessionFields
	if len(fields) == 0 {
		fields = DefaultAccessionFields
	}
	groups := orderGroups(m)
	if len(groups) == 0 {
		return nil, &Reject{Code: AR, ErrCode: ErrSegmentSequence, Location: "ORC", Text: "no ORC or OBR segment: nothing to order"}
	}
	pid := m.Segment("PID")
	orders := make([]drafts.Order, 0, len(groups))
	for gi, g := range groups {
		o, rej := orderControl(g.get("ORC"), gi)
		if rej != nil {
			return nil, rej
		}
		if rej := identify(&o, m, g, fields, gi); rej != nil {
			return nil, rej
		}
		if pid != nil {
			patient(&o, pid)
		}
		procedure(&o, g)
		orders = append(orders, o)
	}
	return orders, nil
}

// checkHeader refuses a message without a control ID, of another type or
// of another HL7 version.
func checkHeader(msh *Segment) *Reject {
	if msh.Get(10, 1) == "" {
		return &Reject{Code: AR, ErrCode: ErrRequiredFieldMiss, Location: "MSH^1^10", Text: "MSH-10 message control ID is empty"}
	}
	code, trig := strings.ToUpper(msh.Get(9, 1)), strings.ToUpper(msh.Get(9, 2))
	switch {
	case code == "":
		return &Reject{Code: AR, ErrCode: ErrRequiredFieldMiss, Location: "MSH^1^9", Text: "MSH-9 message type is empty"}
	case code != "ORM" && code != "OMI":
		return &Reject{Code: AR, ErrCode: ErrUnsupportedMsgType, Location: "MSH^1^9", Text: "only ORM^O01 and OMI^O23 are accepted"}
	case !Supported(code + "^" + trig):
		return &Reject{Code: AR, ErrCode: ErrUnsupportedEvent, Location: "MSH^1^9", Text: "only ORM^O01 and OMI^O23 are accepted"}
	}
	if v := msh.Get(12, 1); v != "" && !strings.HasPrefix(v, "2.") {
		return &Reject{Code: AR, ErrCode: ErrUnsupportedVersion, Location: "MSH^1^12", Text: "only HL7 v2.x is accepted"}
	}
	return nil
}

// orderGroups cuts the message into orders: each ORC starts one, with the
// OBR, IPC and ZDS after it; an OBR without its own ORC shares the
// previous one.
func orderGroups(m *Message) []*group {
	var groups []*group
	var cur *group
	for i := range m.Segments {
		s := &m.Segments[i]
		switch s.Name {
		case "ORC":
			cur = &group{segs: map[string]*Segment{"ORC": s}}
			groups = append(groups, cur)
		case "OBR", "IPC", "ZDS":
			if cur == nil || (s.Name == "OBR" && cur.segs["OBR"] != nil) {
				ng := &group{segs: map[string]*Segment{}}
				if cur != nil {
					ng.segs["ORC"] = cur.segs["ORC"]
				}
				cur = ng
				groups = append(groups, cur)
			}
			if cur.segs[s.Name] == nil {
				cur.segs[s.Name] = s
			}
		}
	}
	return groups
}

// orderControl reads ORC-1 (NW when empty) and ORC-5 into a new order with
// its action; gi is the order's index, for the reject's location.
func orderControl(orc *Segment, gi int) (drafts.Order, *Reject) {
	o := drafts.Order{OrderControl: strings.ToUpper(clean(orc.Get(1, 1)))}
	if o.OrderControl == "" {
		o.OrderControl = "NW"
	}
	switch o.OrderControl {
	case "NW", "SN":
		o.Action = drafts.OrderNew
	case "XO", "XR", "SC", "OK", "NA":
		o.Action = drafts.OrderUpdate
	case "CA", "OC", "CR", "DC", "OD", "DR":
		o.Action = drafts.OrderCancel
	default:
		return o, &Reject{Code: AR, ErrCode: ErrApplicationError, Location: fmt.Sprintf("ORC^%d^1", gi+1),
			Text: "order control " + safeCode(o.OrderControl) + " is not supported"}
	}
	o.OrderStatus = clean(orc.Get(5, 1))
	if o.OrderControl == "SC" && (o.OrderStatus == "CA" || o.OrderStatus == "DC") {
		// A status change to cancelled/discontinued is a cancel.
		o.Action = drafts.OrderCancel
	}
	return o, nil
}

// identify finds the order's accession (the first of fields that has one),
// Study Instance UID (IPC-3, then ZDS-1) and order numbers; an order with
// neither accession nor Study UID cannot find its study and is refused.
func identify(o *drafts.Order, m *Message, g *group, fields []string, gi int) *Reject {
	for _, path := range fields {
		seg, n, c, sub, _ := parsePath(path)
		var s *Segment
		if g.segs[seg] != nil {
			s = g.segs[seg]
		} else if seg != "ORC" && seg != "OBR" && seg != "IPC" && seg != "ZDS" {
			s = m.Segment(seg)
		}
		if v := clean(s.Field(n).Get(0, c, sub)); v != "" {
			o.AccessionNumber, o.AccessionSource = v, path
			break
		}
	}
	if v := clean(g.get("IPC").Get(3, 1)); v != "" {
		o.StudyUID, o.StudyUIDSource = v, "IPC-3"
	} else if v := clean(g.get("ZDS").Get(1, 1)); v != "" {
		o.StudyUID, o.StudyUIDSource = v, "ZDS-1"
	}
	if o.AccessionNumber == "" && o.StudyUID == "" {
		return &Reject{Code: AR, ErrCode: ErrRequiredFieldMiss, Location: fmt.Sprintf("OBR^%d^18", gi+1),
			Text: "order has neither an accession number (" + strings.Join(fields, ", ") + ") nor a Study Instance UID (IPC-3, ZDS-1)"}
	}
	orc, obr := g.get("ORC"), g.get("OBR")
	o.PlacerOrderNumber = firstOf(orc.Get(2, 1), obr.Get(2, 1))
	o.FillerOrderNumber = firstOf(orc.Get(3, 1), obr.Get(3, 1))
	return nil
}

// patient reads PID: the MRN (the identifier typed MR, else the first),
// name, birth date and sex.
func patient(o *drafts.Order, pid *Segment) {
	ids := pid.Field(3)
	pick := 0
	for ri, r := range ids {
		if strings.EqualFold(clean(r.Component(5)), "MR") {
			pick = ri
			break
		}
	}
	o.PatientID = clean(ids.Get(pick, 1, 1))
	o.PatientIDAuthority = clean(ids.Get(pick, 4, 1))
	o.PatientName = personName(pid.Field(5), 1)
	o.PatientBirthDate = dateOnly(pid.Get(7, 1))
	o.PatientSex = strings.ToUpper(clean(pid.Get(8, 1)))
}

// procedure reads what is ordered and why: procedure, modality, the
// indication (OBR-31, then OBR-13) and the ordering provider.
func procedure(o *drafts.Order, g *group) {
	orc, obr, ipc := g.get("ORC"), g.get("OBR"), g.get("IPC")
	o.ProcedureCode = clean(obr.Get(4, 1))
	o.ProcedureText = firstOf(obr.Get(4, 2), obr.Get(4, 5))
	o.Modality = firstOf(ipc.Get(5, 1), obr.Get(24, 1))
	if t := codedText(obr.Field(31)); t != "" {
		o.Indication, o.IndicationSource = t, drafts.IndicationFromOBR31
	} else if t := plainText(obr.Field(13)); t != "" {
		o.Indication, o.IndicationSource = t, drafts.IndicationFromOBR13
	}
	o.OrderingProvider = personName(orc.Field(12), 2)
	if o.OrderingProvider == "" {
		o.OrderingProvider = personName(obr.Field(16), 2)
	}
}

// safeCode returns s when it looks like a code (short, A-Z0-9), else "?":
// reject texts must not echo message content.
func safeCode(s string) string {
	if len(s) > 3 {
		return "?"
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return "?"
		}
	}
	return s
}

func clean(s string) string {
	s = strings.TrimSpace(s)
	if s == `""` { // HL7's explicit null
		return ""
	}
	return s
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v = clean(v); v != "" {
			return v
		}
	}
	return ""
}

// personName turns the first repetition of an XPN (first = 1: family at
// component 1) or XCN (first = 2: ID, then family) into a DICOM PN string
// Family^Given^Middle^Prefix^Suffix without trailing empty parts.
func personName(f Field, first int) string {
	if len(f) == 0 {
		return ""
	}
	family := clean(f.Get(0, first, 1))
	given := clean(f.Get(0, first+1, 1))
	middle := clean(f.Get(0, first+2, 1))
	suffix := clean(f.Get(0, first+3, 1))
	prefix := clean(f.Get(0, first+4, 1))
	return strings.TrimRight(strings.Join([]string{family, given, middle, prefix, suffix}, "^"), "^")
}

// dateOnly keeps YYYYMMDD of an HL7 TS/DTM.
func dateOnly(s string) string {
	s = clean(s)
	if len(s) > 8 {
		s = s[:8]
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return ""
		}
	}
	return s
}

// codedText makes readable text of a coded element (CE/CWE), each repetition
// being code^text^system^alt code^alt text^alt system^...^original text:
// the text (and the original text when it says more), else the alternate
// text, else the code; repetitions joined by "; ".
func codedText(f Field) string {
	var parts []string
	seen := map[string]bool{}
	for _, r := range f {
		text := clean(r.Component(2))
		orig := clean(r.Component(9))
		var t string
		switch {
		case text != "" && orig != "" && !strings.EqualFold(text, orig):
			t = text + ": " + orig
		case text != "":
			t = text
		case orig != "":
			t = orig
		case clean(r.Component(5)) != "":
			t = clean(r.Component(5))
		default:
			t = clean(r.Component(1))
		}
		if t != "" && !seen[strings.ToLower(t)] {
			seen[strings.ToLower(t)] = true
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, "; ")
}

// plainText makes text of a free-text field: components (a stray,
// unescaped ^) joined by a space, repetitions by "; ", line breaks kept.
func plainText(f Field) string {
	var reps []string
	for _, r := range f {
		var comps []string
		for ci := range r {
			if v := clean(r.Component(ci + 1)); v != "" {
				comps = append(comps, v)
			}
		}
		if len(comps) > 0 {
			reps = append(reps, strings.Join(comps, " "))
		}
	}
	return strings.Join(reps, "; ")
}
