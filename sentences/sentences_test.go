package sentences

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
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
		for _, s := range Split(c.in) {
			got = append(got, s.Text)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Split(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSplitUTF16Offsets(t *testing.T) {
	// "é" is one UTF-16 unit, "𝑥" (U+1D465) two.
	spans := Split("é 𝑥. Next.")
	if len(spans) != 2 || spans[0].Start != 0 || spans[0].End != 5 || spans[1].Start != 6 || spans[1].End != 11 {
		t.Fatalf("spans = %+v", spans)
	}
}

func TestMark(t *testing.T) {
	ai := "No pneumothorax. No effusion. Heart normal."
	cur := "No  pneumothorax.\nSmall left effusion. Heart normal. Heart normal."
	m := Mark(ai, cur, []string{"Heart normal."})
	var owners []string
	for _, x := range m {
		owners = append(owners, x.Owner)
	}
	want := []string{OwnerAI, OwnerHuman, OwnerAccepted, OwnerHuman}
	if !reflect.DeepEqual(owners, want) {
		t.Fatalf("owners = %v, want %v", owners, want)
	}
}

// TestSharedCases runs the cases the web UI's splitter is tested against
// (web/test/sentence-cases.json), so the Go and TypeScript rules cannot drift.
func TestSharedCases(t *testing.T) {
	raw, err := os.ReadFile("../web/test/sentence-cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []struct {
			Text      string   `json:"text"`
			Sentences []string `json:"sentences"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 5 {
		t.Fatalf("only %d shared cases", len(file.Cases))
	}
	for _, c := range file.Cases {
		got := []string{}
		for _, s := range Split(c.Text) {
			got = append(got, s.Text)
		}
		want := c.Sentences
		if want == nil {
			want = []string{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Split(%q) = %q, want %q", c.Text, got, want)
		}
	}
}
