package chexprompt

import "github.com/radraft/radraft/sentences"

// Sentences splits a report into sentences by the one rule the API and the
// UI use (package sentences), so an error's sentence indexes point at the
// sentences the UI shows. Clauses within a sentence (';', "but", ...) are
// split further by the offline evaluator, not here.
func Sentences(text string) []string {
	spans := sentences.Split(text)
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Text
	}
	return out
}
