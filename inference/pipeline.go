package inference

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/radraft/radraft/inference/prompt"
	"github.com/radraft/radraft/inference/tokenizer"
)

// PromptEncoder makes the model's prompt for an indication ("" = none):
// the full text (with <image>) and the token ids before and after <image>
// (before starts with BOS).
type PromptEncoder interface {
	Encode(indication string) (text string, before, after []int64, err error)
}

// Pipeline is the whole path from a DICOM file to findings text. Its parts
// that live in other packages are given as functions, so that inference
// does not import the DICOM side.
type Pipeline struct {
	Model *Model
	// DecodePixels turns a Part 10 file into its 8-bit display image
	// (dicom/pixels). Its errors are "pixels not decodable" unless they are
	// file-system errors (fs.PathError), which are retried.
	DecodePixels func(path string) (*image.Gray, error)
	Prompt       PromptEncoder
	// Detokenize turns generated ids into text.
	Detokenize func(ids []int64) string
}

// NewPipeline joins a loaded model to its bundle's tokenizer and prompt
// template and to a pixel decoder, checking that the tokenizer agrees with
// model.json.
func NewPipeline(m *Model, decodePixels func(path string) (*image.Gray, error)) (*Pipeline, error) {
	tok, err := tokenizer.Load(filepath.Join(m.Dir, m.Manifest.Files.Tokenizer))
	if err != nil {
		return nil, fmt.Errorf("model bundle %s: %w", m.Dir, err)
	}
	// The decoder may have more rows than the tokenizer has pieces: LLaVA's
	// loader adds <im_patch> (and <im_start>/<im_end>) when the model's
	// config asks for them; those ids decode to nothing.
	if tok.VocabSize() > m.Manifest.VocabSize {
		return nil, fmt.Errorf("model bundle %s: tokenizer has %d pieces, more than model.json's vocab_size %d", m.Dir, tok.VocabSize(), m.Manifest.VocabSize)
	}
	if tok.BOS() != m.Manifest.BOS || tok.EOS() != m.Manifest.EOS {
		return nil, fmt.Errorf("model bundle %s: tokenizer bos/eos %d/%d, model.json says %d/%d", m.Dir, tok.BOS(), tok.EOS(), m.Manifest.BOS, m.Manifest.EOS)
	}
	tpl, err := prompt.FromJSON(m.Manifest.Prompt)
	if err != nil {
		return nil, fmt.Errorf("model bundle %s: %w", m.Dir, err)
	}
	pb, err := prompt.New(tpl, tok, m.Manifest.BOS)
	if err != nil {
		return nil, fmt.Errorf("model bundle %s: %w", m.Dir, err)
	}
	return &Pipeline{Model: m, DecodePixels: decodePixels, Prompt: pb, Detokenize: tok.Decode}, nil
}

// Draft implements Drafter.
func (p *Pipeline) Draft(ctx context.Context, dicomPath, indication string) (*Draft, error) {
	start := time.Now()
	img, err := p.DecodePixels(dicomPath)
	if err != nil {
		if isFileError(err) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrNotDecodable, err)
	}
	tDecode := time.Since(start)
	d, err := p.DraftImage(ctx, img, indication)
	if err != nil {
		return nil, err
	}
	d.Timings.PixelDecodeMS = ms(tDecode)
	d.Timings.TotalMS = ms(time.Since(start))
	return d, nil
}

// FindingsText is the generated text as LLaVA-Rad's evaluation keeps it
// (eval/model_mimic_cxr.py): Python's strip(), a trailing "</s>" removed,
// strip() again.
func FindingsText(decoded string) string {
	s := prompt.TrimPythonSpace(decoded)
	s = strings.TrimSuffix(s, "</s>")
	return prompt.TrimPythonSpace(s)
}

// isFileError: the file could not be read (missing, I/O), which may pass.
func isFileError(err error) bool {
	var pathErr *fs.PathError
	return errors.As(err, &pathErr)
}

// DraftImage drafts from an already decoded display image.
func (p *Pipeline) DraftImage(ctx context.Context, img *image.Gray, indication string) (*Draft, error) {
	start := time.Now()
	m := p.Model
	t := time.Now()
	pixels, err := m.Pre.Tensor(img, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotDecodable, err)
	}
	tPre := time.Since(t)
	text, before, after, err := p.Prompt.Encode(indication)
	if err != nil {
		return nil, fmt.Errorf("prompt: %w", err)
	}
	g, err := m.Generate(ctx, pixels, before, after, 0)
	if err != nil {
		return nil, err
	}
	gt := g.Timings
	d := &Draft{
		Findings: FindingsText(p.Detokenize(g.Tokens)),
		Prompt:   text,
		Tokens:   g.Tokens,
		Stop:     g.Stop,
		Model:    m.Info(),
		Timings: StageTimings{
			PreprocessMS: ms(tPre), VisionMS: ms(gt.Vision), EmbedMS: ms(gt.Embed), PrefillMS: ms(gt.Prefill),
			DecodeMS: ms(gt.Decode), DecodeRunsMS: ms(gt.DecodeRuns), PromptTokens: gt.PromptTokens,
			Tokens: gt.Tokens, TokensPerSecond: gt.TokensPerSecond(), TotalMS: ms(time.Since(start)),
		},
	}
	if gt.Tokens > 1 && gt.Decode > 0 {
		d.Timings.DecodeTokensPerSecond = float64(gt.Tokens-1) / gt.Decode.Seconds()
	}
	return d, nil
}
