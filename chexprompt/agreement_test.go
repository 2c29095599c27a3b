package chexprompt

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestKendallTauB(t *testing.T) {
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if v := KendallTauB([]float64{1, 2, 3, 4}, []float64{1, 2, 3, 4}); !near(v, 1) {
		t.Errorf("identical: %v", v)
	}
	if v := KendallTauB([]float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}); !near(v, -1) {
		t.Errorf("reversed: %v", v)
	}
	// With ties, by hand: 4 concordant, 0 discordant, one pair tied in x
	// only, one in y only: 4/sqrt(5*5) = 0.8.
	if v := KendallTauB([]float64{1, 2, 2, 3}, []float64{1, 3, 2, 3}); !near(v, 0.8) {
		t.Errorf("ties: %v", v)
	}
	// A pair tied in both drops out of both terms: x=[1,1,2], y=[1,1,2]:
	// 2 concordant, 1 joint tie: 2/sqrt(2*2) = 1.
	if v := KendallTauB([]float64{1, 1, 2}, []float64{1, 1, 2}); !near(v, 1) {
		t.Errorf("ties: %v", v)
	}
	if v := KendallTauB([]float64{1, 1, 1}, []float64{1, 2, 3}); !math.IsNaN(v) {
		t.Errorf("constant: %v", v)
	}
	if v := MeanAbsDiff([]float64{1, 2, 3}, []float64{2, 2, 5}); !near(v, 1) {
		t.Errorf("MAD %v", v)
	}
	b, _ := json.Marshal(Agreement{TauTotal: Stat(math.NaN())})
	if !strings.Contains(string(b), `"kendall_tau_b_total":null`) {
		t.Errorf("NaN marshals as %s", b)
	}
}

func TestStripIdentifiers(t *testing.T) {
	in := "Patient: Doe, Jane (MRN: A1234567), DOB 1950-02-03, accession 99887766. Compared to 3/1/2024 and March 2, 2024, per Dr. Alvarez. The ETT is 4.5 cm above the carina. 3 - 4 cm nodule."
	out := StripIdentifiers(in, Identifiers{PatientName: "DOE^JANE", PatientID: "A1234567", AccessionNumber: "99887766", PatientBirthDate: "19500203"})
	for _, phi := range []string{"Doe", "Jane", "A1234567", "1950", "99887766", "3/1/2024", "March 2", "Alvarez"} {
		if strings.Contains(out, phi) {
			t.Errorf("%q left: %s", phi, out)
		}
	}
	for _, keep := range []string{"4.5 cm above the carina", "3 - 4 cm nodule"} {
		if !strings.Contains(out, keep) {
			t.Errorf("%q lost: %s", keep, out)
		}
	}
}

func TestSentences(t *testing.T) {
	// The shared rule (package sentences): a semicolon does not end a sentence.
	got := Sentences("ETT 4.5 cm above the carina. No effusion; small PTX.\nHeart normal")
	want := []string{"ETT 4.5 cm above the carina.", "No effusion; small PTX.", "Heart normal"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q", got)
	}
}

// A semicolon still ends a clause: the negation before it must not reach
// the finding after it.
func TestSemicolonEndsNegation(t *testing.T) {
	res, err := NewOffline().Evaluate(context.Background(), "No effusion; small right pneumothorax.", "No effusion; no pneumothorax.")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) == 0 {
		t.Fatalf("the missed pneumothorax after ';' was not found: %+v", res)
	}
	if e := res.Errors[0]; !strings.Contains(strings.ToLower(e.Finding+e.Reason), "pneumothorax") || !e.Significant {
		t.Fatalf("want a significant error about the pneumothorax, got %+v", e)
	}
}
