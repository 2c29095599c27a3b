// Package cfind answers Study Root Query/Retrieve C-FIND requests at the
// STUDY and SERIES levels (PS3.4 C.4.1, C.6.2): it decodes a request
// identifier, turns its matching keys into a Query, and encodes one
// response identifier per match holding exactly the keys asked for (plus
// Query/Retrieve Level and Specific Character Set). Where the matches come
// from is a Finder's business; the DIMSE exchange is the SCP's.
package cfind

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	sdicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/dicom/match"
)

// StudyRootFind is the SOP class this package answers.
const StudyRootFind = "1.2.840.10008.5.1.4.1.2.2.1"

// MaxIdentifier caps a request identifier (a few keys in practice).
const MaxIdentifier = 64 << 10

// Query is what a request's matching keys ask for. Text keys are SQL LIKE
// patterns (dicom/match), "" = any.
type Query struct {
	Level                                   string // STUDY or SERIES
	PatientID, PatientName, AccessionNumber string
	Modality                                string // exact
	DateFrom, DateTo                        *time.Time
	StudyUIDs, SeriesUIDs                   []string
}

// Record is one match: attribute values by tag ("GGGGEEEE"), multi-valued
// attributes joined by backslash.
type Record map[tag.Tag]string

// Finder finds the matches of a query at its level.
type Finder interface {
	Find(ctx context.Context, q Query) ([]Record, error)
}

// Request is a decoded identifier: the query, and the keys to return.
type Request struct {
	Query Query
	keys  []tag.Tag
}

// Errors that map to C-FIND failure statuses.
var (
	ErrIdentifier  = errors.New("cfind: identifier cannot be decoded") // C000
	ErrLevel       = errors.New("cfind: Query/Retrieve Level must be STUDY or SERIES")
	ErrUnsupported = errors.New("cfind: matching on a key radraft does not index")
)

// Tags used as keys.
var (
	tLevel    = tag.Tag{Group: 0x0008, Element: 0x0052}
	tCharset  = tag.Tag{Group: 0x0008, Element: 0x0005}
	matchable = map[tag.Tag]bool{tag.PatientID: true, tag.PatientName: true, tag.StudyDate: true, tag.AccessionNumber: true,
		tag.ModalitiesInStudy: true, tag.Modality: true, tag.StudyInstanceUID: true, tag.SeriesInstanceUID: true}
)

// Decode reads an identifier (at most MaxIdentifier bytes) encoded in
// transfer syntax ts.
func Decode(r io.Reader, ts string) (*Request, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxIdentifier+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxIdentifier {
		return nil, ErrIdentifier
	}
	els, err := parse(b, ts)
	if err != nil {
		return nil, ErrIdentifier
	}
	req := &Request{}
	for _, el := range els {
		v := ""
		if s, ok := el.Value.GetValue().([]string); ok {
			v = strings.TrimRight(strings.TrimSpace(strings.Join(s, `\`)), "\x00")
		}
		switch {
		case el.Tag == tLevel:
			req.Query.Level = v
			continue
		case el.Tag == tCharset:
			continue
		}
		req.keys = append(req.keys, el.Tag)
		if v == "" || match.Universal(v) && el.Tag != tag.StudyDate {
			continue // a return key, or universal matching
		}
		if !matchable[el.Tag] {
			return nil, fmt.Errorf("%w: %v", ErrUnsupported, el.Tag)
		}
		if err := req.Query.set(el.Tag, v); err != nil {
			return nil, err
		}
	}
	if req.Query.Level != "STUDY" && req.Query.Level != "SERIES" {
		return nil, ErrLevel
	}
	return req, nil
}

func (q *Query) set(t tag.Tag, v string) error {
	switch t {
	case tag.PatientID:
		q.PatientID = match.Like(v)
	case tag.PatientName:
		q.PatientName = match.Like(v)
	case tag.AccessionNumber:
		q.AccessionNumber = match.Like(v)
	case tag.ModalitiesInStudy, tag.Modality:
		q.Modality = v
	case tag.StudyDate:
		from, to, err := match.DateRange(v)
		if err != nil {
			return fmt.Errorf("%w: StudyDate %v", ErrIdentifier, err)
		}
		q.DateFrom, q.DateTo = from, to
	case tag.StudyInstanceUID, tag.SeriesInstanceUID:
		uids := match.UIDList(v)
		if uids == nil {
			return fmt.Errorf("%w: UID list", ErrIdentifier)
		}
		if t == tag.StudyInstanceUID {
			q.StudyUIDs = uids
		} else {
			q.SeriesUIDs = uids
		}
	}
	return nil
}

// parse decodes a dataset without file meta in transfer syntax ts. The
// parser takes the transfer syntax from a file meta group only (and
// guesses it from 100 bytes otherwise), so a minimal one is put in front.
func parse(b []byte, ts string) (els []*sdicom.Element, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("cfind: parser failed: %v", p)
		}
	}()
	tsv := []byte(ts)
	if len(tsv)%2 == 1 {
		tsv = append(tsv, 0)
	}
	meta := append(make([]byte, 128), "DICM\x02\x00\x00\x00UL\x04\x00"...)
	meta = binary.LittleEndian.AppendUint32(meta, uint32(8+len(tsv)))
	meta = append(meta, 0x02, 0x00, 0x10, 0x00, 'U', 'I')
	meta = binary.LittleEndian.AppendUint16(meta, uint16(len(tsv)))
	meta = append(meta, tsv...)
	in := io.MultiReader(bytes.NewReader(meta), bytes.NewReader(b))
	p, err := sdicom.NewParser(in, int64(len(meta)+len(b)), nil, sdicom.AllowUnknownSpecificCharacterSet())
	if err != nil {
		return nil, err
	}
	for {
		el, err := p.Next()
		if errors.Is(err, io.EOF) || errors.Is(err, sdicom.ErrorEndOfDICOM) {
			return els, nil
		}
		if err != nil {
			return nil, err
		}
		if el.Tag.Group != 0x0002 {
			els = append(els, el)
		}
	}
}

// Encode is the response identifier of one match: the keys asked for (empty
// when the match has no value), the level and the character set, in
// transfer syntax ts.
func (req *Request) Encode(r Record, ts string) ([]byte, error) {
	var buf bytes.Buffer
	w, err := sdicom.NewWriter(&buf, sdicom.SkipVRVerification())
	if err != nil {
		return nil, err
	}
	w.SetTransferSyntax(binary.LittleEndian, ts == dicom.ImplicitVRLittleEndian)
	vals := map[tag.Tag]string{tCharset: "ISO_IR 192", tLevel: req.Query.Level}
	keys := append([]tag.Tag{tCharset, tLevel}, req.keys...)
	for _, k := range req.keys {
		vals[k] = r[k]
	}
	keys = sortTags(keys)
	for _, k := range keys {
		var vs []string
		if v := vals[k]; v != "" {
			vs = strings.Split(v, `\`)
		}
		el, err := sdicom.NewElement(k, vs)
		if err != nil {
			// A key whose dictionary VR is not a string (e.g. a sequence):
			// returned empty, as a key radraft has no value for.
			continue
		}
		if err := w.WriteElement(el); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

func sortTags(ts []tag.Tag) []tag.Tag {
	slices.SortFunc(ts, func(a, b tag.Tag) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Element, b.Element))
	})
	return slices.Compact(ts) // a key given twice is answered once
}
