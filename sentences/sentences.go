// Package sentences owns the one rule by which report text is cut into
// sentences, and by which a sentence of the current text is still the AI's.
// The API's marking, CheXprompt's sentence locations and the web UI
// (web/src/sentences.ts, web/src/marking.ts, checked against the same cases
// in web/test/sentence-cases.json) all use it, so the sentence the UI marks
// or highlights is the one the server means.
//
//   - A sentence ends after '.', '!' or '?' (with any further terminals and
//     closing quotes or brackets right after it) when white space or the end
//     of the text follows, and at every line break. "1.5 cm" does not split.
//   - Leading and trailing white space is not part of a sentence; empty
//     sentences are dropped.
//   - Two sentences are the same when their texts are equal after collapsing
//     runs of white space to one space (case and punctuation count).
//   - A sentence of the current text is the AI's while it equals one of the
//     AI draft's sentences that no earlier sentence of the current text has
//     already matched (a multiset), and is not in the accepted list (also a
//     multiset: sentences the radiologist kept word for word on purpose).
//
// Offsets are in UTF-16 code units, as JavaScript strings count them.
package sentences

import (
	"strings"
	"unicode/utf16"
)

// Span is one sentence of a text.
type Span struct {
	Start int    `json:"start"` // UTF-16 offset of its first character
	End   int    `json:"end"`   // UTF-16 offset just past its last character
	Text  string `json:"text"`
}

// Sentence owners.
const (
	OwnerAI       = "ai"       // unchanged AI text, not yet accepted
	OwnerAccepted = "accepted" // unchanged AI text the radiologist accepted
	OwnerHuman    = "human"    // written or edited by the radiologist
)

// MarkedSentence is a sentence of the current text with who owns it.
type MarkedSentence struct {
	Span
	Owner string `json:"owner"`
	Index int    `json:"index"`
}

func isTerminal(r rune) bool { return r == '.' || r == '!' || r == '?' }

func isCloser(r rune) bool {
	switch r {
	case '"', '\'', ')', ']', '}', '\u201d', '\u2019':
		return true
	}
	return false
}

func isSentenceSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\f', '\v', '\u00a0':
		return true
	}
	return false
}

// Split splits text into sentence spans by the rule above.
func Split(text string) []Span {
	rs := []rune(text)
	// u16[i] is the UTF-16 offset of rune i.
	u16 := make([]int, len(rs)+1)
	for i, r := range rs {
		u16[i+1] = u16[i] + utf16.RuneLen(r)
	}
	var out []Span
	push := func(a, b int) {
		for a < b && isSentenceSpace(rs[a]) {
			a++
		}
		for b > a && isSentenceSpace(rs[b-1]) {
			b--
		}
		if b > a {
			out = append(out, Span{Start: u16[a], End: u16[b], Text: string(rs[a:b])})
		}
	}
	seg := 0
	for i := 0; i < len(rs); {
		c := rs[i]
		if c == '\n' || c == '\r' {
			push(seg, i)
			i++
			seg = i
			continue
		}
		if isTerminal(c) {
			j := i + 1
			for j < len(rs) && (isTerminal(rs[j]) || isCloser(rs[j])) {
				j++
			}
			if j >= len(rs) || isSentenceSpace(rs[j]) {
				push(seg, j)
				seg = j
			}
			i = j
			continue
		}
		i++
	}
	push(seg, len(rs))
	return out
}

// Normalize is the comparison key of a sentence: white space runs
// collapsed to one space, trimmed.
func Normalize(s string) string { return strings.Join(strings.Fields(s), " ") }

// Mark says, for each sentence of current, whether it is still the
// AI's (see the rule above). accepted may be nil.
func Mark(aiDraft, current string, accepted []string) []MarkedSentence {
	ai := map[string]int{}
	for _, s := range Split(aiDraft) {
		ai[Normalize(s.Text)]++
	}
	acc := map[string]int{}
	for _, s := range accepted {
		acc[Normalize(s)]++
	}
	spans := Split(current)
	out := make([]MarkedSentence, 0, len(spans))
	for i, s := range spans {
		key := Normalize(s.Text)
		owner := OwnerHuman
		if ai[key] > 0 {
			ai[key]--
			owner = OwnerAI
			if acc[key] > 0 {
				acc[key]--
				owner = OwnerAccepted
			}
		}
		out = append(out, MarkedSentence{Span: s, Owner: owner, Index: i})
	}
	return out
}
