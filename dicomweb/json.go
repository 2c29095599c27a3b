package dicomweb

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	sdicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// attrs is one dataset in the DICOM JSON model (PS3.18 F.2): attributes
// keyed by "GGGGEEEE" (encoding/json writes map keys sorted, i.e. in tag order).
type attrs map[string]*attr

type attr struct {
	VR          string `json:"vr"`
	Value       []any  `json:"Value,omitempty"`
	BulkDataURI string `json:"BulkDataURI,omitempty"`
	Inline      string `json:"InlineBinary,omitempty"`
}

func key(g, e uint16) string { return fmt.Sprintf("%04X%04X", g, e) }

// str sets an attribute from strings (IS and DS become numbers); empty
// values give an attribute without Value.
func (a attrs) str(g, e uint16, vr string, vs ...string) {
	var set []string
	for _, v := range vs {
		if v != "" {
			set = append(set, v)
		}
	}
	a[key(g, e)] = &attr{VR: vr, Value: stringValues(vr, set)}
}

// pn sets a person name attribute.
func (a attrs) pn(g, e uint16, v string) {
	x := &attr{VR: "PN"}
	if v != "" {
		x.Value = []any{map[string]string{"Alphabetic": v}}
	}
	a[key(g, e)] = x
}

func (a attrs) num(g, e uint16, vr string, v int) { a[key(g, e)] = &attr{VR: vr, Value: []any{v}} }

func (a attrs) seq(g, e uint16, items ...attrs) {
	x := &attr{VR: "SQ"}
	for _, it := range items {
		x.Value = append(x.Value, it)
	}
	a[key(g, e)] = x
}

// inlineMax is the largest binary value written inline; longer ones are
// referenced by a BulkDataURI.
const inlineMax = 1024

var binaryVRs = map[string]bool{"OB": true, "OW": true, "OF": true, "OD": true, "OL": true, "OV": true, "UN": true}

// fromDataset converts parsed elements to the JSON model; bulk(tag) is the
// BulkDataURI of a top-level binary value too long to inline ("" = omit).
func fromDataset(els []*sdicom.Element, bulk func(tag.Tag) string) attrs {
	out := attrs{}
	for _, el := range els {
		if el.Tag.Group == 0x0002 || el.Tag.Group == 0xFFFE {
			continue
		}
		vr := el.RawValueRepresentation
		if vr == tag.UnknownVR || len(vr) != 2 {
			vr = "UN"
		}
		x := &attr{VR: vr}
		out[key(el.Tag.Group, el.Tag.Element)] = x
		if el.Value == nil {
			continue
		}
		switch v := el.Value.GetValue().(type) {
		case []string:
			x.Value = stringValues(vr, v)
		case []int:
			for _, n := range v {
				x.Value = append(x.Value, n)
			}
		case []float64:
			for _, f := range v {
				x.Value = append(x.Value, f)
			}
		case []byte:
			if len(v) <= inlineMax {
				x.Inline = base64.StdEncoding.EncodeToString(v)
			} else {
				x.BulkDataURI = bulk(el.Tag)
			}
		case []*sdicom.SequenceItemValue:
			x.Value = []any{}
			for _, it := range v {
				if sub, ok := it.GetValue().([]*sdicom.Element); ok {
					x.Value = append(x.Value, fromDataset(sub, func(tag.Tag) string { return "" }))
				}
			}
		default: // pixel data (skipped by the parser) and anything else binary
			if binaryVRs[vr] {
				x.BulkDataURI = bulk(el.Tag)
			}
		}
	}
	return out
}

// stringValues converts string values of vr to JSON values: numbers for
// IS and DS, person-name objects for PN, strings otherwise.
func stringValues(vr string, vs []string) []any {
	var out []any
	for _, s := range vs {
		s = strings.TrimRight(strings.TrimSpace(s), "\x00")
		switch vr {
		case "IS":
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				out = append(out, n)
				continue
			}
		case "DS":
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				out = append(out, f)
				continue
			}
		case "PN":
			if s == "" {
				out = append(out, nil)
			} else {
				out = append(out, map[string]string{"Alphabetic": s})
			}
			continue
		}
		if s == "" && len(vs) == 1 {
			return nil
		}
		out = append(out, s)
	}
	return out
}
