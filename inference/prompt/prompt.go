// Package prompt builds LLaVA-Rad's prompt: the Vicuna v1 conversation with
// the system sentence, "USER: <image>\n{instruction} ASSISTANT:", the
// instruction with the indication (or the no-indication one), and its
// tokenisation as LLaVA's tokenizer_image_token does it: the text before and
// after <image> is encoded separately (each with SentencePiece's dummy
// prefix), BOS only at the start; the image embeddings go between the two.
//
// The wording comes from the bundle's model.json ("prompt" section); the
// defaults are LLaVA-Rad's. The tests compare with the ids Python
// sentencepiece gave for the demo model (models/demo/reference/prompt_ids.json,
// written by deploy/demo-model/make_demo_model.py through
// deploy/export/radraft_bundle.py, which holds the Python twin of this code).
package prompt

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/radraft/radraft/inference/tokenizer"
)

// Template is the conversation wording (model.json "prompt").
type Template struct {
	Style                   string `json:"style"`
	System                  string `json:"system"`
	Template                string `json:"template"`
	ImagePlaceholder        string `json:"image_placeholder"`
	Instruction             string `json:"instruction"`
	InstructionNoIndication string `json:"instruction_no_indication"`
}

// LLaVA-Rad's wording (Vicuna v1).
const (
	DefaultSystem = "A chat between a curious user and an artificial intelligence assistant. " +
		"The assistant gives helpful, detailed, and polite answers to the user's questions."
	DefaultTemplate                = "{system} USER: <image>\n{instruction} ASSISTANT:"
	DefaultImagePlaceholder        = "<image>"
	DefaultInstruction             = "Provide a description of the findings in the radiology image given the following indication: {indication}"
	DefaultInstructionNoIndication = "Provide a description of the findings in the radiology image."
)

// Default is LLaVA-Rad's template.
func Default() Template {
	return Template{Style: "vicuna_v1", System: DefaultSystem, Template: DefaultTemplate,
		ImagePlaceholder: DefaultImagePlaceholder, Instruction: DefaultInstruction,
		InstructionNoIndication: DefaultInstructionNoIndication}
}

// FromJSON reads model.json's "prompt" object; absent fields (or an absent
// object) take LLaVA-Rad's values.
func FromJSON(raw json.RawMessage) (Template, error) {
	t := Default()
	if len(raw) == 0 || string(raw) == "null" {
		return t, nil
	}
	var j Template
	if err := json.Unmarshal(raw, &j); err != nil {
		return t, fmt.Errorf("model.json prompt: %w", err)
	}
	if j.Style != "" && j.Style != "vicuna_v1" {
		return t, fmt.Errorf("model.json prompt.style %q: only vicuna_v1 is known", j.Style)
	}
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&t.System, j.System}, {&t.Template, j.Template}, {&t.ImagePlaceholder, j.ImagePlaceholder},
		{&t.Instruction, j.Instruction}, {&t.InstructionNoIndication, j.InstructionNoIndication},
	} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	return t, t.check()
}

func (t Template) check() error {
	if strings.Count(t.Template, t.ImagePlaceholder) != 1 {
		return fmt.Errorf("model.json prompt.template must hold %q exactly once", t.ImagePlaceholder)
	}
	if !strings.Contains(t.Template, "{instruction}") {
		return errors.New("model.json prompt.template has no {instruction}")
	}
	if !strings.Contains(t.Instruction, "{indication}") {
		return errors.New("model.json prompt.instruction has no {indication}")
	}
	return nil
}

// CleanIndication is the indication as the prompt uses it, as LLaVA-Rad's
// code makes it (llava/utils.py's MIMIC loader, then eval/model_mimic_cxr.py):
// each "\n" becomes a space, every "<image>" is removed, and white space is
// stripped from the end only (Python's str.strip() on the whole question,
// which starts with the instruction, so only the indication's end is
// touched; Python's white space, see IsPythonSpace). Before that, CR LF and
// a lone CR become "\n" (radraft's own step: HL7 v2 text ends lines with
// CR, the training data's reasons with "\n"). A blank indication is no
// indication (the official code would keep "indication:" with nothing
// after it; radraft uses the no-indication instruction).
func CleanIndication(s string) string {
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s)
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, DefaultImagePlaceholder, "")
	s = TrimRightPythonSpace(s)
	if TrimPythonSpace(s) == "" {
		return ""
	}
	return s
}

// IsPythonSpace is Python's str.isspace for one character: Go's
// unicode.IsSpace plus the information separators U+001C to U+001F.
func IsPythonSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// TrimPythonSpace is Python's str.strip() with no argument.
func TrimPythonSpace(s string) string { return strings.TrimFunc(s, IsPythonSpace) }

// TrimRightPythonSpace is Python's str.rstrip() with no argument.
func TrimRightPythonSpace(s string) string { return strings.TrimRightFunc(s, IsPythonSpace) }

// InstructionFor is the user instruction for an indication ("" = none).
func (t Template) InstructionFor(indication string) string {
	ind := CleanIndication(indication)
	if ind == "" {
		return t.InstructionNoIndication
	}
	return strings.NewReplacer("{indication}", ind).Replace(t.Instruction)
}

// parts is the text before and after the image placeholder.
func (t Template) parts(indication string) (before, after string) {
	fill := strings.NewReplacer("{system}", t.System, "{instruction}", t.InstructionFor(indication))
	i := strings.Index(t.Template, t.ImagePlaceholder)
	return fill.Replace(t.Template[:i]), fill.Replace(t.Template[i+len(t.ImagePlaceholder):])
}

// Text is the whole prompt, with the image placeholder.
func (t Template) Text(indication string) string {
	b, a := t.parts(indication)
	return b + t.ImagePlaceholder + a
}

// Prompt is a tokenised prompt.
type Prompt struct {
	Text       string  // the whole prompt with the image placeholder
	Indication string  // the indication as used ("" = none)
	Before     []int64 // BOS + the text before the image
	After      []int64 // the text after the image
}

// Builder tokenises prompts for one model.
type Builder struct {
	T   Template
	Tok *tokenizer.Tokenizer
	BOS int64
}

// New makes a Builder; bos is the model's BOS id (model.json tokenizer.bos_id).
func New(t Template, tok *tokenizer.Tokenizer, bos int64) (*Builder, error) {
	if tok == nil {
		return nil, errors.New("prompt: no tokenizer")
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return &Builder{T: t, Tok: tok, BOS: bos}, nil
}

// Build makes the prompt for an indication ("" or blank = none).
func (b *Builder) Build(indication string) Prompt {
	before, after := b.T.parts(indication)
	ids := append([]int64{b.BOS}, b.Tok.Encode(before)...)
	return Prompt{Text: before + b.T.ImagePlaceholder + after, Indication: CleanIndication(indication),
		Before: ids, After: b.Tok.Encode(after)}
}

// Encode is Build in the shape of inference.PromptEncoder.
func (b *Builder) Encode(indication string) (text string, before, after []int64, err error) {
	p := b.Build(indication)
	return p.Text, p.Before, p.After, nil
}
