package inference

import "testing"

func TestFindingsText(t *testing.T) {
	for in, want := range map[string]string{
		"  The lungs are clear.\n":     "The lungs are clear.",
		"No effusion. </s> \n":         "No effusion.",
		"\u00a0Heart size normal.\x1c": "Heart size normal.",
		"":                             "",
	} {
		if got := FindingsText(in); got != want {
			t.Errorf("FindingsText(%q) = %q, want %q", in, got, want)
		}
	}
}
