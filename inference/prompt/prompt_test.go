package prompt

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/radraft/radraft/inference/tokenizer"
)

const demo = "../../models/demo/"

func demoBuilder(t *testing.T) *Builder {
	t.Helper()
	tok, err := tokenizer.Load(demo + "tokenizer.model")
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Prompt json.RawMessage `json:"prompt"`
		Tok    struct {
			BOS int64 `json:"bos_id"`
		} `json:"tokenizer"`
	}
	b, err := os.ReadFile(demo + "model.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	tpl, err := FromJSON(man.Prompt)
	if err != nil {
		t.Fatal(err)
	}
	if tpl != Default() {
		t.Errorf("demo model.json prompt differs from LLaVA-Rad's:\n%+v\n%+v", tpl, Default())
	}
	bld, err := New(tpl, tok, man.Tok.BOS)
	if err != nil {
		t.Fatal(err)
	}
	return bld
}

// TestMatchesPython compares with the chunks the Python reference
// (LLaVA's tokenizer_image_token with sentencepiece) recorded.
func TestMatchesPython(t *testing.T) {
	bld := demoBuilder(t)
	raw, err := os.ReadFile(demo + "reference/prompt_ids.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Indication *string   `json:"indication"`
			Prompt     string    `json:"prompt"`
			Chunks     [][]int64 `json:"chunks"`
			ImageIndex int       `json:"image_index"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 2 {
		t.Fatal("no reference cases")
	}
	for _, c := range ref.Cases {
		ind := ""
		if c.Indication != nil {
			ind = *c.Indication
		}
		p := bld.Build(ind)
		if p.Text != c.Prompt {
			t.Errorf("indication %q: text\n%q\nwant\n%q", ind, p.Text, c.Prompt)
		}
		if c.ImageIndex != 1 || len(c.Chunks) != 2 {
			t.Fatalf("reference shape: %d chunks, image at %d", len(c.Chunks), c.ImageIndex)
		}
		if !reflect.DeepEqual(p.Before, c.Chunks[0]) || !reflect.DeepEqual(p.After, c.Chunks[1]) {
			t.Errorf("indication %q:\n got %v | %v\nwant %v | %v", ind, p.Before, p.After, c.Chunks[0], c.Chunks[1])
		}
		text, before, after, err := bld.Encode(ind)
		if err != nil || text != p.Text || !reflect.DeepEqual(before, p.Before) || !reflect.DeepEqual(after, p.After) {
			t.Errorf("Encode differs from Build")
		}
	}
}

func TestText(t *testing.T) {
	d := Default()
	got := d.Text("  Cough.\r\nFever<image>\n\t\u00a0\x1c")
	want := DefaultSystem + " USER: <image>\nProvide a description of the findings in the radiology image given the following indication:   Cough. Fever ASSISTANT:"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := d.Text(" \n "); !strings.Contains(got, "\n"+DefaultInstructionNoIndication+" ASSISTANT:") {
		t.Errorf("blank indication: %q", got)
	}
	// Braces inside the indication are plain text; "<image>" is removed, as
	// LLaVA-Rad's eval does (q.replace("<image>", "")).
	if got := d.InstructionFor("{system} <image> {indication}"); !strings.HasSuffix(got, ": {system}  {indication}") {
		t.Errorf("literal braces: %q", got)
	}
	bld := demoBuilder(t)
	p := bld.Build("a <image> in the indication")
	if p.Before[0] != 1 || strings.Count(p.Text, "<image>") != 1 || !strings.Contains(p.Text, "a  in the indication") || len(p.After) == 0 {
		t.Errorf("placeholder in indication: %+v", p)
	}
	for _, id := range p.After {
		if id == 1 {
			t.Error("BOS inside the second chunk")
		}
	}
}

func TestFromJSON(t *testing.T) {
	if tpl, err := FromJSON(nil); err != nil || tpl != Default() {
		t.Errorf("nil: %v", err)
	}
	if _, err := FromJSON(json.RawMessage(`{"style":"chatml"}`)); err == nil {
		t.Error("unknown style accepted")
	}
	if _, err := FromJSON(json.RawMessage(`{"template":"no image here {instruction}"}`)); err == nil {
		t.Error("template without <image> accepted")
	}
	if _, err := FromJSON(json.RawMessage(`{"instruction":"no slot"}`)); err == nil {
		t.Error("instruction without {indication} accepted")
	}
	tpl, err := FromJSON(json.RawMessage(`{"system":"Sys."}`))
	if err != nil || tpl.System != "Sys." || tpl.Instruction != DefaultInstruction {
		t.Errorf("partial: %+v %v", tpl, err)
	}
}

func TestPythonSpace(t *testing.T) {
	// Python: "\x1c\x1d\x1e\x1f\x85\xa0\u2028\u3000 x \t".strip() == "x"
	if got := TrimPythonSpace("\x1c\x1d\x1e\x1f\u0085\u00a0\u2028\u3000 x \t"); got != "x" {
		t.Errorf("TrimPythonSpace = %q", got)
	}
	// U+200B (zero width space) is not white space to Python.
	if got := TrimRightPythonSpace(" x\u200b "); got != " x\u200b" {
		t.Errorf("TrimRightPythonSpace = %q", got)
	}
}
