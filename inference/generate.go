package inference

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

// Timings are the stages of one generation.
type Timings struct {
	Vision  time.Duration `json:"-"`
	Embed   time.Duration `json:"-"` // text chunks of the prompt
	Prefill time.Duration `json:"-"`
	Decode  time.Duration `json:"-"` // every step after the prefill
	// DecodeRuns is the part of Decode spent inside ONNX Runtime (decoder
	// and embedding runs); the rest is the loop's own overhead (argmax,
	// tensor headers, bookkeeping).
	DecodeRuns   time.Duration `json:"-"`
	PromptTokens int           `json:"prompt_tokens"`
	Tokens       int           `json:"tokens"`
}

// TokensPerSecond is generated tokens over prefill + decode time.
func (t Timings) TokensPerSecond() float64 {
	d := (t.Prefill + t.Decode).Seconds()
	if d == 0 {
		return 0
	}
	return float64(t.Tokens) / d
}

// Generation is the result of Generate.
type Generation struct {
	// Tokens are the generated ids, without the final EOS.
	Tokens []int64
	// Stop is "eos" or "max_new_tokens".
	Stop    string
	Timings Timings
}

// ErrModel marks failures of the model itself (a graph that fails to run),
// as opposed to cancellation.
var ErrModel = errors.New("model error")

// decodeLoop is how one generation drives the model's sessions. Two exist:
// runLoop (loop_run.go: onnxruntime_go's Run over tensors in Go memory) and
// bindingLoop (loop_binding.go: IoBinding, the KV cache in the execution
// provider's memory, which on CUDA is the GPU). Both make the same graph
// runs over the same values, so they give the same tokens.
type decodeLoop interface {
	// vision writes the image features of a [3,S,S] tensor into dst (host).
	vision(pixels []float32, dst []byte) error
	// embedPrompt writes the embeddings of ids into dst (host).
	embedPrompt(ids []int64, dst []byte) error
	// prefill runs the decoder over the S0 prompt embeddings in emb and
	// returns the greedy next token.
	prefill(emb []byte, S0 int) (int64, error)
	// step embeds tok, runs the decoder for it after P cached positions and
	// returns the next token and the time spent inside the runtime.
	step(tok int64, P int) (int64, time.Duration, error)
	release()
}

// newLoop starts a generation of up to total positions (prompt of S0).
func (m *Model) newLoop(ctx context.Context, S0, total int) (decodeLoop, error) {
	if m.bound != nil {
		return m.newBindingLoop(ctx, S0, total)
	}
	return m.newRunLoop(ctx, S0, total)
}

// argmaxRow returns the index of the largest logit in one position's row
// (the first such index on ties, like torch.argmax).
func (m *Model) argmaxRow(row []byte) int64 {
	V := m.Manifest.VocabSize
	bi := 0
	if m.spec.logitsType == ort.TensorElementDataTypeFloat16 {
		r := unsafe.Slice((*uint16)(unsafe.Pointer(&row[0])), V)
		best := f16ToF32(r[0])
		for i, h := range r {
			if v := f16ToF32(h); v > best {
				best, bi = v, i
			}
		}
		return int64(bi)
	}
	r := unsafe.Slice((*float32)(unsafe.Pointer(&row[0])), V)
	best := r[0]
	for i, v := range r {
		if v > best {
			best, bi = v, i
		}
	}
	return int64(bi)
}

// pixelBytes is the [3,S,S] tensor in the vision graph's input type.
func (m *Model) pixelBytes(pixels []float32) ([]byte, error) {
	S := m.Manifest.ImageSize
	if len(pixels) != 3*S*S {
		return nil, fmt.Errorf("pixel tensor has %d values, want 3×%d×%d", len(pixels), S, S)
	}
	if m.spec.pixelType != ort.TensorElementDataTypeFloat16 {
		return unsafe.Slice((*byte)(unsafe.Pointer(&pixels[0])), 4*len(pixels)), nil
	}
	h := floatBuf(2 * len(pixels))
	hs := unsafe.Slice((*uint16)(unsafe.Pointer(&h[0])), len(pixels))
	for i, v := range pixels {
		hs[i] = f32ToF16(v)
	}
	return h, nil
}

// int64Bytes views ids as bytes.
func int64Bytes(ids []int64) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&ids[0])), 8*len(ids))
}

// Generate drafts from a preprocessed image ([3,S,S]) and the prompt's
// token ids before and after <image> (before starts with BOS): one prefill
// over [before, image features, after], then one greedy token per step
// until EOS or maxNew tokens (0 = the manifest's max_new_tokens). ctx
// cancels it, also in the middle of a graph run.
func (m *Model) Generate(ctx context.Context, pixels []float32, before, after []int64, maxNew int) (*Generation, error) {
	return m.GenerateWith(ctx, pixels, before, after, GenOptions{MaxNewTokens: maxNew})
}

// GenOptions tune Generate.
type GenOptions struct {
	// MaxNewTokens: 0 = the manifest's max_new_tokens.
	MaxNewTokens int
	// IgnoreEOS keeps generating to MaxNewTokens (benchmarks only).
	IgnoreEOS bool
}

// GenerateWith is Generate with options. It is kept in one piece because
// its timed stages (vision, embed, prefill, decode) share the prompt
// embedding buffer and the per-stage clocks that Generation.Timings reports.
func (m *Model) GenerateWith(ctx context.Context, pixels []float32, before, after []int64, o GenOptions) (*Generation, error) {
	maxNew := o.MaxNewTokens
	if maxNew <= 0 {
		maxNew = m.Manifest.MaxNewTokens
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.decoder == nil && m.bound == nil {
		return nil, errors.New("model is closed")
	}
	wrap := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}

	man := m.Manifest
	H, N := man.HiddenSize, man.ImageTokens
	es := elemSize(m.spec.embedType)
	nb, na := len(before), len(after)
	S0 := nb + N + na
	if cl := man.Decoder.ContextLength; cl > 0 {
		if S0 >= cl {
			return nil, fmt.Errorf("%w: prompt of %d positions does not fit the decoder's context of %d", ErrModel, S0, cl)
		}
		maxNew = min(maxNew, cl-S0)
	}
	loop, err := m.newLoop(ctx, S0, S0+maxNew)
	if err != nil {
		return nil, err
	}
	defer loop.release()
	g := &Generation{}
	g.Timings.PromptTokens = S0

	emb := floatBuf(S0 * H * es)
	t := time.Now()
	if err := loop.vision(pixels, emb[nb*H*es:(nb+N)*H*es]); err != nil {
		return nil, wrap(err)
	}
	g.Timings.Vision = time.Since(t)
	t = time.Now()
	if err := loop.embedPrompt(before, emb[:nb*H*es]); err != nil {
		return nil, wrap(err)
	}
	if err := loop.embedPrompt(after, emb[(nb+N)*H*es:]); err != nil {
		return nil, wrap(err)
	}
	g.Timings.Embed = time.Since(t)

	t = time.Now()
	tok, err := loop.prefill(emb, S0)
	if err != nil {
		return nil, wrap(err)
	}
	g.Timings.Prefill = time.Since(t)
	t = time.Now()
	P := S0
	g.Stop = "max_new_tokens"
	for {
		if tok == man.EOS && !o.IgnoreEOS {
			g.Stop = "eos"
			break
		}
		g.Tokens = append(g.Tokens, tok)
		if len(g.Tokens) >= maxNew {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var d time.Duration
		tok, d, err = loop.step(tok, P)
		g.Timings.DecodeRuns += d
		if err != nil {
			return nil, wrap(err)
		}
		P++
	}
	g.Timings.Decode = time.Since(t)
	g.Timings.Tokens = len(g.Tokens)
	return g, nil
}
