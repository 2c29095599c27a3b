// Package match holds DICOM's attribute matching rules (PS3.4 C.2.2.2) as
// the query services need them (QIDO-RS in dicomweb, C-FIND): wildcard
// values as SQL LIKE patterns, date ranges, UID lists. It knows nothing of
// where the matching runs.
package match

import (
	"errors"
	"strings"
	"time"
)

// Like turns a wildcard value (* any run, ? one character) into a SQL LIKE
// pattern with backslash as escape: LIKE's own % _ and \ are escaped.
func Like(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch r {
		case '%', '_', '\\':
			b.WriteRune('\\')
			b.WriteRune(r)
		case '*':
			b.WriteRune('%')
		case '?':
			b.WriteRune('_')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Universal reports whether v matches everything (empty, or only *).
func Universal(v string) bool { return strings.Trim(v, "*") == "" }

// ErrDateRange is returned for a value that is neither a date nor a range.
var ErrDateRange = errors.New("want YYYYMMDD or a range YYYYMMDD-YYYYMMDD")

// DateRange parses a DA value or range (D, D1-D2, D1-, -D2); nil bounds
// are open.
func DateRange(v string) (from, to *time.Time, err error) {
	parse := func(s string) (*time.Time, error) {
		if s == "" {
			return nil, nil
		}
		t, err := time.Parse("20060102", s)
		if err != nil || len(s) != 8 {
			return nil, ErrDateRange
		}
		return &t, nil
	}
	a, b, isRange := strings.Cut(v, "-")
	if from, err = parse(a); err != nil {
		return nil, nil, err
	}
	if !isRange {
		return from, from, nil
	}
	if to, err = parse(b); err != nil {
		return nil, nil, err
	}
	if from == nil && to == nil {
		return nil, nil, ErrDateRange
	}
	return from, to, nil
}

// UIDList parses a list of UIDs separated by backslash (DICOM) or comma
// (QIDO-RS); nil if any is not a UID.
func UIDList(v string) []string {
	var out []string
	for _, u := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\\' }) {
		if u = strings.TrimSpace(u); !UIDLike(u) {
			return nil
		}
		out = append(out, u)
	}
	return out
}

// UIDLike: 1-64 digits and dots (leading zeros tolerated, as received
// files carry them).
func UIDLike(s string) bool {
	return s != "" && len(s) <= 64 && strings.Trim(s, "0123456789.") == ""
}
