package chexprompt

import (
	"errors"
	"testing"
)

func TestParseAnswer(t *testing.T) {
	want := func(sig, insig Counts) [2]Counts { return [2]Counts{sig, insig} }
	cases := []struct {
		name, in string
		want     [2]Counts
	}{
		{"strict", "Clinically significant errors: (A, 0); (B, 1); (C, 0); (D, 0); (E, 0); (F, 0)\nClinically insignificant errors: (A, 2); (B, 0); (C, 0); (D, 0); (E, 0); (F, 1)",
			want(Counts{OmissionFinding: 1}, Counts{FalsePositiveFinding: 2, OmissionComparison: 1})},
		{"square", "[Clinically Significant Errors]: [a, 1], [b, 0], [c, 0], [d, 0], [e, 0], [f, 0]\n[Clinically Insignificant Errors]: [a, 0], [b, 0], [c, 3], [d, 0], [e, 0], [f, 0]",
			want(Counts{FalsePositiveFinding: 1}, Counts{IncorrectLocation: 3})},
		{"paren-letter", "Clinically significant errors: (a) 1, (b) 0\nClinically insignificant errors: (d) 2",
			want(Counts{FalsePositiveFinding: 1}, Counts{IncorrectSeverity: 2})},
		{"labels alone", "Clinically significant errors:\n(A, 1); (B, 1)\nClinically insignificant errors:\nnone",
			want(Counts{FalsePositiveFinding: 1, OmissionFinding: 1}, Counts{})},
		{"insignificant first", "Clinically insignificant errors: (E, 1)\nClinically significant errors: (C, 1)",
			want(Counts{IncorrectLocation: 1}, Counts{FalsePositiveComparison: 1})},
		{"markdown", "```\n**Clinically significant errors**: (A,0);(B,0);(C,0);(D,1);(E,0);(F,0)\n**Clinically insignificant errors**: A: 1, B: 0\n```",
			want(Counts{IncorrectSeverity: 1}, Counts{FalsePositiveFinding: 1})},
	}
	for _, c := range cases {
		sig, insig, err := ParseAnswer(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if [2]Counts{sig, insig} != c.want {
			t.Errorf("%s: got %v / %v want %v / %v", c.name, sig, insig, c.want[0], c.want[1])
		}
	}
	for _, bad := range []string{"", "I cannot help with that.", "Clinically significant errors: (A, 1)", "Clinically insignificant errors: (A, 1)",
		"Clinically significant errors: (A, 1); (A, 2)\nClinically insignificant errors: none"} {
		if _, _, err := ParseAnswer(bad); !errors.Is(err, ErrUnparseable) {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}
