package drafts

import (
	"reflect"
	"testing"
)

func TestSplitSentences(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"No focal consolidation. Heart size is normal.", []string{"No focal consolidation.", "Heart size is normal."}},
		{"A 1.5 cm nodule.  Stable!\nLine two", []string{"A 1.5 cm nodule.", "Stable!", "Line two"}},
		{`He said "no effusion." Then (normal.) end`, []string{`He said "no effusion."`, "Then (normal.)", "end"}},
		{"  \n\n ", nil},
		{"Really?! Yes", []string{"Really?!", "Yes"}},
	}
	for _, c := range cases {
		var got []string
		for _, s := range SplitSentences(c.in) {
			got = append(got, s.Text)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("SplitSentences(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSplitSentencesUTF16Offsets(t *testing.T) {
	// "é" is one UTF-16 unit, "𝑥" (U+1D465) two.
	spans := SplitSentences("é 𝑥. Next.")
	if len(spans) != 2 || spans[0].Start != 0 || spans[0].End != 5 || spans[1].Start != 6 || spans[1].End != 11 {
		t.Fatalf("spans = %+v", spans)
	}
}

func TestMarkSentences(t *testing.T) {
	ai := "No pneumothorax. No effusion. Heart normal."
	cur := "No  pneumothorax.\nSmall left effusion. Heart normal. Heart normal."
	m := MarkSentences(ai, cur, []string{"Heart normal."})
	var owners []string
	for _, x := range m {
		owners = append(owners, x.Owner)
	}
	want := []string{OwnerAI, OwnerHuman, OwnerAccepted, OwnerHuman}
	if !reflect.DeepEqual(owners, want) {
		t.Fatalf("owners = %v, want %v", owners, want)
	}
}
