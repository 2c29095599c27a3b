package chexprompt

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// KendallTauB is Kendall's rank correlation with the tau-b correction for
// ties, as the paper reports it. It returns NaN when x and y differ in length,
// have fewer than two items, or either is constant.
func KendallTauB(x, y []float64) float64 {
	n := len(x)
	if n != len(y) || n < 2 {
		return math.NaN()
	}
	var concordant, discordant, tiesX, tiesY float64
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			dx, dy := x[i]-x[j], y[i]-y[j]
			switch {
			case dx == 0 && dy == 0:
				// tied in both: counts in neither n1 nor n2 term's complement
			case dx == 0:
				tiesX++
			case dy == 0:
				tiesY++
			case (dx > 0) == (dy > 0):
				concordant++
			default:
				discordant++
			}
		}
	}
	den := math.Sqrt((concordant + discordant + tiesX) * (concordant + discordant + tiesY))
	if den == 0 {
		return math.NaN()
	}
	return (concordant - discordant) / den
}

// MeanAbsDiff is the mean absolute difference of paired values.
func MeanAbsDiff(x, y []float64) float64 {
	if len(x) != len(y) || len(x) == 0 {
		return math.NaN()
	}
	s := 0.0
	for i := range x {
		s += math.Abs(x[i] - y[i])
	}
	return s / float64(len(x))
}

// HumanCounts is a pair's counts by a person, in the result shape.
type HumanCounts struct {
	ClinicallySignificant   Counts `json:"clinically_significant"`
	ClinicallyInsignificant Counts `json:"clinically_insignificant"`
}

// Pair is one line of a PAIRS.jsonl file (`radraft eval`, testdata).
type Pair struct {
	ID        string       `json:"id,omitempty"`
	Reference string       `json:"reference"`
	Candidate string       `json:"candidate"`
	Human     *HumanCounts `json:"human,omitempty"`
	Reason    string       `json:"reason,omitempty"`
	// Set names a subset (testdata: "" = written alongside the rules,
	// "holdout" = written before the rules were run on them).
	Set string `json:"set,omitempty"`
}

// DecodePairs reads JSON lines of pairs; blank lines are skipped.
func DecodePairs(data []byte) ([]Pair, error) {
	var out []Pair
	dec := json.NewDecoder(bytesReader(data))
	for i := 1; ; i++ {
		var p Pair
		err := dec.Decode(&p)
		if errors.Is(err, errEOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("pair %d: %w", i, err)
		}
		if p.Reference == "" && p.Candidate == "" {
			return nil, fmt.Errorf("pair %d: reference and candidate are empty", i)
		}
		out = append(out, p)
	}
}

// Agreement summarises an engine against human counts.
type Agreement struct {
	N int `json:"n"`
	// Kendall's tau-b on total and on clinically significant errors.
	// NaN (JSON null) when undefined, e.g. when one side is constant.
	TauTotal       Stat `json:"kendall_tau_b_total"`
	TauSignificant Stat `json:"kendall_tau_b_significant"`
	// Mean absolute difference on the same two numbers.
	MADTotal       Stat `json:"mean_abs_diff_total"`
	MADSignificant Stat `json:"mean_abs_diff_significant"`
	// Exact-match rate per category ("significant.omission_finding", ...)
	// and of whole pairs.
	ExactMatch     map[string]float64 `json:"exact_match"`
	ExactMatchPair float64            `json:"exact_match_pair"`
	// Share of pairs free of clinically significant errors, by each side.
	FreeOfSignificantEngine float64 `json:"free_of_significant_engine"`
	FreeOfSignificantHuman  float64 `json:"free_of_significant_human"`
	Engine                  string  `json:"engine"`
	Note                    string  `json:"note,omitempty"`
}

// MeasureAgreement compares results with human counts, pair by pair.
func MeasureAgreement(results []*Result, human []HumanCounts) Agreement {
	a := Agreement{N: len(results), ExactMatch: map[string]float64{}}
	if len(results) != len(human) || len(results) == 0 {
		return a
	}
	a.Engine = results[0].Engine
	if a.Engine == EngineOffline {
		a.Note = OfflineNote
	}
	var et, ht, es, hs []float64
	exact := map[string]int{}
	whole := 0
	for i, r := range results {
		h := human[i]
		et = append(et, float64(r.Total()))
		ht = append(ht, float64(h.ClinicallySignificant.Total()+h.ClinicallyInsignificant.Total()))
		es = append(es, float64(r.SignificantTotal()))
		hs = append(hs, float64(h.ClinicallySignificant.Total()))
		all := true
		for _, t := range ErrorTypes {
			if r.ClinicallySignificant.Get(t) == h.ClinicallySignificant.Get(t) {
				exact["significant."+string(t)]++
			} else {
				all = false
			}
			if r.ClinicallyInsignificant.Get(t) == h.ClinicallyInsignificant.Get(t) {
				exact["insignificant."+string(t)]++
			} else {
				all = false
			}
		}
		if all {
			whole++
		}
		if r.SignificantTotal() == 0 {
			a.FreeOfSignificantEngine++
		}
		if h.ClinicallySignificant.Total() == 0 {
			a.FreeOfSignificantHuman++
		}
	}
	n := float64(len(results))
	for _, t := range ErrorTypes {
		for _, s := range []string{"significant.", "insignificant."} {
			a.ExactMatch[s+string(t)] = float64(exact[s+string(t)]) / n
		}
	}
	a.ExactMatchPair = float64(whole) / n
	a.FreeOfSignificantEngine /= n
	a.FreeOfSignificantHuman /= n
	a.TauTotal, a.TauSignificant = Stat(KendallTauB(et, ht)), Stat(KendallTauB(es, hs))
	a.MADTotal, a.MADSignificant = Stat(MeanAbsDiff(et, ht)), Stat(MeanAbsDiff(es, hs))
	return a
}

// Stat is a statistic that marshals NaN as null.
type Stat float64

func (s Stat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatFloat(math.Round(float64(s)*10000)/10000, 'f', -1, 64)), nil
}
