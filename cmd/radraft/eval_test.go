package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/radraft/radraft/chexprompt"
)

func TestEvalOfflineOnCommittedPairs(t *testing.T) {
	data, err := os.ReadFile("../../chexprompt/testdata/pairs.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := chexprompt.DecodePairs(data)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := scorePairs(context.Background(), chexprompt.NewOffline(), pairs, 3, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(pairs)+1 {
		t.Fatalf("%d lines for %d pairs", len(lines), len(pairs))
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "clinically_significant", "clinically_insignificant", "errors", "engine", "model", "raw", "note"} {
		if _, ok := first[k]; !ok {
			t.Errorf("result line lacks %q: %s", k, lines[0])
		}
	}
	var last struct {
		Agreement chexprompt.Agreement `json:"agreement"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Agreement.N != len(pairs) || last.Agreement.TauTotal <= 0 {
		t.Fatalf("agreement line %s (%v)", lines[len(lines)-1], err)
	}
	if !strings.Contains(errOut.String(), "approximation") {
		t.Errorf("no approximation note: %s", errOut.String())
	}
}
