package inference

import (
	"context"
	"errors"
	"time"
)

// Draft is one model output with its provenance.
type Draft struct {
	Findings string
	// Prompt is the full text prompt (with <image> where the features go).
	Prompt  string
	Tokens  []int64
	Stop    string
	Model   Info
	Timings StageTimings
}

// StageTimings are a draft's stages, in milliseconds for JSON.
type StageTimings struct {
	PixelDecodeMS   float64 `json:"pixel_decode_ms"`
	PreprocessMS    float64 `json:"preprocess_ms"`
	VisionMS        float64 `json:"vision_ms"`
	EmbedMS         float64 `json:"embed_ms"`
	PrefillMS       float64 `json:"prefill_ms"`
	DecodeMS        float64 `json:"decode_ms"`
	DecodeRunsMS    float64 `json:"decode_ort_ms"`
	TotalMS         float64 `json:"total_ms"`
	PromptTokens    int     `json:"prompt_tokens"`
	Tokens          int     `json:"tokens"`
	TokensPerSecond float64 `json:"tokens_per_s"`
	// DecodeTokensPerSecond counts only the tokens of the decode loop (all
	// but the first, which the prefill yields) over its time.
	DecodeTokensPerSecond float64 `json:"decode_tokens_per_s"`
}

// Map is the timings as the JSON object stored with the draft.
func (t StageTimings) Map() map[string]any {
	return map[string]any{
		"pixel_decode_ms": t.PixelDecodeMS, "preprocess_ms": t.PreprocessMS, "vision_ms": t.VisionMS,
		"embed_ms": t.EmbedMS, "prefill_ms": t.PrefillMS, "decode_ms": t.DecodeMS, "decode_ort_ms": t.DecodeRunsMS,
		"total_ms": t.TotalMS, "prompt_tokens": t.PromptTokens, "tokens": t.Tokens, "tokens_per_s": t.TokensPerSecond,
		"decode_tokens_per_s": t.DecodeTokensPerSecond,
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Drafter drafts the findings of one DICOM file.
type Drafter interface {
	Draft(ctx context.Context, dicomPath, indication string) (*Draft, error)
}

// Permanent failure classes: the worker records them on the study and does
// not retry.
var (
	ErrNotDecodable = errors.New("pixels not decodable")
	// ErrModel (generate.go) covers graphs that fail to run.
)
