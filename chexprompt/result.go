package chexprompt

import (
	"context"
	"fmt"
)

// Engine names, as stored with every evaluation.
const (
	EngineOffline = "offline"
	EngineLLM     = "llm"
)

// OfflineNote is attached to every offline result, so that whoever reads a
// count knows what produced it.
const OfflineNote = "offline evaluator: a rule-based approximation of CheXprompt, not the GPT-4 judge of the paper; see the measured agreement in the chexprompt package documentation"

// ErrorType is one of CheXprompt's six error types; the value is the JSON key
// of the result shape.
type ErrorType string

const (
	FalsePositiveFinding    ErrorType = "false_positive_finding"    // A
	OmissionFinding         ErrorType = "omission_finding"          // B
	IncorrectLocation       ErrorType = "incorrect_location"        // C
	IncorrectSeverity       ErrorType = "incorrect_severity"        // D
	FalsePositiveComparison ErrorType = "false_positive_comparison" // E
	OmissionComparison      ErrorType = "omission_comparison"       // F
)

// ErrorTypes lists the six types in CheXprompt's order (A to F).
var ErrorTypes = []ErrorType{FalsePositiveFinding, OmissionFinding, IncorrectLocation, IncorrectSeverity, FalsePositiveComparison, OmissionComparison}

// Letter is the type's letter in the paper (A-F).
func (t ErrorType) Letter() string {
	for i, e := range ErrorTypes {
		if e == t {
			return string(rune('A' + i))
		}
	}
	return "?"
}

// Valid reports whether t is one of the six types.
func (t ErrorType) Valid() bool { return t.Letter() != "?" }

// Counts holds one count per error type.
type Counts struct {
	FalsePositiveFinding    int `json:"false_positive_finding"`
	OmissionFinding         int `json:"omission_finding"`
	IncorrectLocation       int `json:"incorrect_location"`
	IncorrectSeverity       int `json:"incorrect_severity"`
	FalsePositiveComparison int `json:"false_positive_comparison"`
	OmissionComparison      int `json:"omission_comparison"`
}

// Get returns the count of one type.
func (c Counts) Get(t ErrorType) int {
	switch t {
	case FalsePositiveFinding:
		return c.FalsePositiveFinding
	case OmissionFinding:
		return c.OmissionFinding
	case IncorrectLocation:
		return c.IncorrectLocation
	case IncorrectSeverity:
		return c.IncorrectSeverity
	case FalsePositiveComparison:
		return c.FalsePositiveComparison
	case OmissionComparison:
		return c.OmissionComparison
	}
	return 0
}

// Add adds n to the count of one type.
func (c *Counts) Add(t ErrorType, n int) {
	switch t {
	case FalsePositiveFinding:
		c.FalsePositiveFinding += n
	case OmissionFinding:
		c.OmissionFinding += n
	case IncorrectLocation:
		c.IncorrectLocation += n
	case IncorrectSeverity:
		c.IncorrectSeverity += n
	case FalsePositiveComparison:
		c.FalsePositiveComparison += n
	case OmissionComparison:
		c.OmissionComparison += n
	}
}

// Total is the sum over the six types.
func (c Counts) Total() int {
	n := 0
	for _, t := range ErrorTypes {
		n += c.Get(t)
	}
	return n
}

// Error is one error found, with the sentences of each text it concerns
// (indexes into Result.ReferenceSentences / CandidateSentences).
type Error struct {
	Type               ErrorType `json:"type"`
	Significant        bool      `json:"significant"`
	Finding            string    `json:"finding,omitempty"`
	Reason             string    `json:"reason"`
	ReferenceSentences []int     `json:"reference_sentences"`
	CandidateSentences []int     `json:"candidate_sentences"`
}

// Result is one evaluation of a candidate against a reference, in
// CheXprompt's result shape plus where the errors are and what produced them.
type Result struct {
	ClinicallySignificant   Counts `json:"clinically_significant"`
	ClinicallyInsignificant Counts `json:"clinically_insignificant"`
	// Errors lists the errors one by one. For the LLM judge the counts are the
	// judge's and the list (its sentence locations) comes from the offline
	// alignment: see ErrorsSource.
	Errors       []Error `json:"errors"`
	ErrorsSource string  `json:"errors_source"`
	// The texts split into sentences as the indexes in Errors count them
	// (after identifier stripping when the engine strips).
	ReferenceSentences []string `json:"reference_sentences"`
	CandidateSentences []string `json:"candidate_sentences"`
	Engine             string   `json:"engine"`
	Model              string   `json:"model"`
	// Note says what the numbers are (the offline one is an approximation).
	Note string `json:"note,omitempty"`
	// Raw is the judge's raw answer (offline: a rendering of its findings).
	Raw string `json:"raw"`
}

// SignificantTotal is the number of clinically significant errors.
func (r *Result) SignificantTotal() int { return r.ClinicallySignificant.Total() }

// Total is the number of errors of both significances.
func (r *Result) Total() int {
	return r.ClinicallySignificant.Total() + r.ClinicallyInsignificant.Total()
}

// DifferingSentences returns the indexes of sentences of each text that at
// least one error concerns, in order (the "second reader" view).
func (r *Result) DifferingSentences() (reference, candidate []int) {
	rs, cs := map[int]bool{}, map[int]bool{}
	for _, e := range r.Errors {
		for _, i := range e.ReferenceSentences {
			rs[i] = true
		}
		for _, i := range e.CandidateSentences {
			cs[i] = true
		}
	}
	for i := range r.ReferenceSentences {
		if rs[i] {
			reference = append(reference, i)
		}
	}
	for i := range r.CandidateSentences {
		if cs[i] {
			candidate = append(candidate, i)
		}
	}
	return reference, candidate
}

// Evaluator scores a candidate report against a reference report.
type Evaluator interface {
	Evaluate(ctx context.Context, reference, candidate string) (*Result, error)
	// Engine is EngineOffline or EngineLLM; Model names the judge model
	// (offline: the rule set's version).
	Engine() string
	Model() string
}

// countsFromErrors sums a list of errors into the two count sets.
func countsFromErrors(errs []Error) (sig, insig Counts) {
	for _, e := range errs {
		if e.Significant {
			sig.Add(e.Type, 1)
		} else {
			insig.Add(e.Type, 1)
		}
	}
	return sig, insig
}

func (c Counts) String() string {
	return fmt.Sprintf("A%d B%d C%d D%d E%d F%d", c.FalsePositiveFinding, c.OmissionFinding, c.IncorrectLocation, c.IncorrectSeverity, c.FalsePositiveComparison, c.OmissionComparison)
}
