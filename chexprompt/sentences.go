package chexprompt

import (
	"strings"
	"unicode"
)

// Sentences splits a report into sentences: at '.', '!' or '?' followed by
// white space or the end (not inside numbers like "2.5 cm" and not after
// common abbreviations), at ';' and at line breaks. Empty pieces are
// dropped; each sentence is trimmed and keeps its final punctuation.
func Sentences(text string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		s := strings.TrimSpace(cur.String())
		if s != "" && strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
			out = append(out, s)
		}
		cur.Reset()
	}
	rs := []rune(text)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r == '\n' || r == '\r' {
			flush()
			continue
		}
		cur.WriteRune(r)
		switch r {
		case ';':
			flush()
		case '.', '!', '?':
			next := rune(' ')
			if i+1 < len(rs) {
				next = rs[i+1]
			}
			if !unicode.IsSpace(next) {
				continue // 2.5, e.g.x
			}
			if r == '.' && isAbbreviation(cur.String()) {
				continue
			}
			flush()
		}
	}
	flush()
	return out
}

var abbreviations = []string{"dr.", "mr.", "mrs.", "ms.", "e.g.", "i.e.", "approx.", "vs.", "cm.", "mm.", "no.", "st."}

func isAbbreviation(s string) bool {
	l := strings.ToLower(s)
	for _, a := range abbreviations {
		if strings.HasSuffix(l, " "+a) || l == a {
			// "cm." and "mm." end sentences as often as not; only treat them
			// as abbreviations when a number precedes ("2 cm. below").
			if a == "cm." || a == "mm." {
				return false
			}
			return true
		}
	}
	return false
}
