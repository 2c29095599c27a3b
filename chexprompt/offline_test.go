package chexprompt

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

func loadPairs(t *testing.T) []Pair {
	t.Helper()
	data, err := os.ReadFile("testdata/pairs.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := DecodePairs(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		if p.Human == nil || p.Reason == "" || p.ID == "" {
			t.Fatalf("pair %q lacks id, expected counts or reason", p.ID)
		}
	}
	return pairs
}

// TestOfflineAgreement measures the offline evaluator against the committed
// hand-written expectations and logs the numbers quoted in the docs:
//
//	go test ./chexprompt -run TestOfflineAgreement -v
//
// The floors below are what this rule set reaches; a change of rules that
// lowers agreement fails here.
func TestOfflineAgreement(t *testing.T) {
	all := loadPairs(t)
	for _, set := range []string{"all", "development", "holdout"} {
		var pairs []Pair
		for _, p := range all {
			if set == "all" || (set == "holdout") == (p.Set == "holdout") {
				pairs = append(pairs, p)
			}
		}
		t.Run(set, func(t *testing.T) { measureOffline(t, pairs, set == "all") })
	}
}

func measureOffline(t *testing.T, pairs []Pair, enforce bool) {
	ev := NewOffline()
	var results []*Result
	var human []HumanCounts
	for _, p := range pairs {
		r, err := ev.Evaluate(context.Background(), p.Reference, p.Candidate)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, r)
		human = append(human, *p.Human)
		if r.ClinicallySignificant != p.Human.ClinicallySignificant || r.ClinicallyInsignificant != p.Human.ClinicallyInsignificant {
			var why []string
			for _, e := range r.Errors {
				why = append(why, fmt.Sprintf("%s/%v %s", e.Type.Letter(), e.Significant, e.Reason))
			}
			t.Logf("differs %-28s expected sig[%s] insig[%s] got sig[%s] insig[%s]: %s", p.ID,
				p.Human.ClinicallySignificant, p.Human.ClinicallyInsignificant,
				r.ClinicallySignificant, r.ClinicallyInsignificant, strings.Join(why, "; "))
		}
	}
	a := MeasureAgreement(results, human)
	var keys []string
	for k := range a.ExactMatch {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("exact match %-40s %.3f", k, a.ExactMatch[k])
	}
	t.Logf("pairs %d, whole-pair exact match %.3f", a.N, a.ExactMatchPair)
	t.Logf("Kendall tau-b total %.3f, significant %.3f; MAD total %.3f, significant %.3f",
		a.TauTotal, a.TauSignificant, a.MADTotal, a.MADSignificant)
	t.Logf("free of significant errors: offline %.3f, expected %.3f", a.FreeOfSignificantEngine, a.FreeOfSignificantHuman)
	if !enforce {
		return
	}
	if a.N < 40 {
		t.Errorf("only %d pairs", a.N)
	}
	if float64(a.TauTotal) < floorTauTotal || float64(a.TauSignificant) < floorTauSig {
		t.Errorf("tau-b fell below the floors %.2f / %.2f", floorTauTotal, floorTauSig)
	}
	if a.ExactMatchPair < floorPairExact {
		t.Errorf("whole-pair exact match %.3f below %.2f", a.ExactMatchPair, floorPairExact)
	}
}

// Floors for TestOfflineAgreement (set just under the measured values).
const (
	floorTauTotal  = 0.80
	floorTauSig    = 0.85
	floorPairExact = 0.80
)
