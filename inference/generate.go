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

// kvCache is the double-buffered KV cache: step n reads past from one set of
// buffers and ONNX Runtime writes present straight into the other, so no
// Go-side copy of the cache happens between steps (the decoder's own concat
// of past and new keys is inside the graph).
type kvCache struct {
	capTokens int
	bufs      [2][]byte // per set: all layers' key and value, each capTokens long
}

// buffers grows the model's reusable scratch space for a generation of
// total tokens.
func (m *Model) buffers(total int) *kvCache {
	if m.kv != nil && m.kv.capTokens >= total {
		return m.kv
	}
	man := m.Manifest
	per := man.NumKVHeads * total * man.HeadSize * elemSize(m.spec.kvType)
	c := &kvCache{capTokens: total}
	for s := range c.bufs {
		c.bufs[s] = floatBuf(per * 2 * man.NumLayers)
	}
	m.kv = c
	return c
}

// kvSlot is layer l's key (j=0) or value (j=1) buffer in set s, sized for p tokens.
func (m *Model) kvSlot(c *kvCache, s, l, j, p int) []byte {
	man := m.Manifest
	per := man.NumKVHeads * c.capTokens * man.HeadSize * elemSize(m.spec.kvType)
	off := (2*l + j) * per
	return c.bufs[s][off : off+man.NumKVHeads*p*man.HeadSize*elemSize(m.spec.kvType)]
}

// argmaxLast returns the index of the largest logit of the last position
// (the first such index on ties, like torch.argmax).
func (m *Model) argmaxLast(logits []byte, t int) int64 {
	V := m.Manifest.VocabSize
	best, bi := float32(0), 0
	if m.spec.logitsType == ort.TensorElementDataTypeFloat16 {
		row := unsafe.Slice((*uint16)(unsafe.Pointer(&logits[0])), t*V)[(t-1)*V:]
		best = f16ToF32(row[0])
		for i, h := range row {
			if v := f16ToF32(h); v > best {
				best, bi = v, i
			}
		}
		return int64(bi)
	}
	row := unsafe.Slice((*float32)(unsafe.Pointer(&logits[0])), t*V)[(t-1)*V:]
	best = row[0]
	for i, v := range row {
		if v > best {
			best, bi = v, i
		}
	}
	return int64(bi)
}

// embed runs the embedding graph on ids, writing [1,len(ids),H] into dst.
func (m *Model) embed(ro *ort.RunOptions, ids []int64, dst []byte) error {
	if len(ids) == 0 {
		return nil
	}
	in, err := ort.NewTensor(ort.NewShape(1, int64(len(ids))), ids)
	if err != nil {
		return err
	}
	defer in.Destroy()
	out, err := byteTensor(m.spec.embedType, dst, 1, int64(len(ids)), int64(m.Manifest.HiddenSize))
	if err != nil {
		return err
	}
	defer out.Destroy()
	if err := m.embedding.RunWithOptions([]ort.Value{in}, []ort.Value{out}, ro); err != nil {
		return fmt.Errorf("%w: embedding: %v", ErrModel, err)
	}
	return nil
}

// visionInto runs the vision graph on a [3,S,S] tensor, writing
// [1,N,H] image features into dst.
func (m *Model) visionInto(ro *ort.RunOptions, pixels []float32, dst []byte) error {
	S := int64(m.Manifest.ImageSize)
	if len(pixels) != int(3*S*S) {
		return fmt.Errorf("pixel tensor has %d values, want 3×%d×%d", len(pixels), S, S)
	}
	var in ort.Value
	var err error
	if m.spec.pixelType == ort.TensorElementDataTypeFloat16 {
		h := floatBuf(2 * len(pixels))
		hs := unsafe.Slice((*uint16)(unsafe.Pointer(&h[0])), len(pixels))
		for i, v := range pixels {
			hs[i] = f32ToF16(v)
		}
		in, err = byteTensor(ort.TensorElementDataTypeFloat16, h, 1, 3, S, S)
	} else {
		in, err = ort.NewTensor(ort.NewShape(1, 3, S, S), pixels)
	}
	if err != nil {
		return err
	}
	defer in.Destroy()
	out, err := byteTensor(m.spec.embedType, dst, 1, int64(m.Manifest.ImageTokens), int64(m.Manifest.HiddenSize))
	if err != nil {
		return err
	}
	defer out.Destroy()
	if err := m.vision.RunWithOptions([]ort.Value{in}, []ort.Value{out}, ro); err != nil {
		return fmt.Errorf("%w: vision: %v", ErrModel, err)
	}
	return nil
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

// GenerateWith is Generate with options.
func (m *Model) GenerateWith(ctx context.Context, pixels []float32, before, after []int64, o GenOptions) (*Generation, error) {
	maxNew := o.MaxNewTokens
	if maxNew <= 0 {
		maxNew = m.Manifest.MaxNewTokens
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.decoder == nil {
		return nil, errors.New("model is closed")
	}
	ro, release, err := runOptions(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	wrap := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}

	man, sp := m.Manifest, m.spec
	H, N := man.HiddenSize, man.ImageTokens
	es := elemSize(sp.embedType)
	nb, na := len(before), len(after)
	S0 := nb + N + na
	g := &Generation{}
	g.Timings.PromptTokens = S0

	emb := floatBuf(S0 * H * es)
	t := time.Now()
	if err := m.visionInto(ro, pixels, emb[nb*H*es:(nb+N)*H*es]); err != nil {
		return nil, wrap(err)
	}
	g.Timings.Vision = time.Since(t)
	t = time.Now()
	if err := m.embed(ro, before, emb[:nb*H*es]); err != nil {
		return nil, wrap(err)
	}
	if err := m.embed(ro, after, emb[(nb+N)*H*es:]); err != nil {
		return nil, wrap(err)
	}
	g.Timings.Embed = time.Since(t)

	if cl := man.Decoder.ContextLength; cl > 0 {
		if S0 >= cl {
			return nil, fmt.Errorf("%w: prompt of %d positions does not fit the decoder's context of %d", ErrModel, S0, cl)
		}
		maxNew = min(maxNew, cl-S0)
	}
	total := S0 + maxNew
	kv := m.buffers(total)
	ones := make([]int64, total)
	for i := range ones {
		ones[i] = 1
	}
	pos := make([]int64, S0)
	for i := range pos {
		pos[i] = int64(i)
	}
	lsz := elemSize(sp.logitsType)
	if cap(m.logits) < S0*man.VocabSize*lsz {
		m.logits = floatBuf(S0 * man.VocabSize * lsz)
	}
	stepEmb := floatBuf(H * es)

	L := man.NumLayers
	kvH, hd := int64(man.NumKVHeads), int64(man.HeadSize)
	ins := make([]ort.Value, len(sp.decInputs))
	outs := make([]ort.Value, len(sp.decOutputs))
	destroy := func(vs []ort.Value) {
		for i, v := range vs {
			if v != nil {
				v.Destroy()
				vs[i] = nil
			}
		}
	}
	defer destroy(ins)
	defer destroy(outs)

	// step runs the decoder over T new positions after P cached ones.
	cur := 0
	// RunOptions (for Terminate on cancellation) cost about a tenth of a
	// small decoder step, so only the long runs (vision, embedding of the
	// prompt, prefill) use them; steps are short and ctx is checked
	// between them.
	step := func(embeds []byte, P, T int, posIDs []int64, ro *ort.RunOptions) (int64, time.Duration, error) {
		var err error
		k := 0
		if ins[k], err = byteTensor(sp.embedType, embeds, 1, int64(T), int64(H)); err != nil {
			return 0, 0, err
		}
		k++
		if ins[k], err = ort.NewTensor(ort.NewShape(1, int64(P+T)), ones); err != nil {
			return 0, 0, err
		}
		k++
		if sp.positionIDs {
			if ins[k], err = ort.NewTensor(ort.NewShape(1, int64(T)), posIDs); err != nil {
				return 0, 0, err
			}
			k++
		}
		if outs[0], err = byteTensor(sp.logitsType, m.logits[:T*man.VocabSize*lsz], 1, int64(T), int64(man.VocabSize)); err != nil {
			return 0, 0, err
		}
		for l := 0; l < L; l++ {
			for j := 0; j < 2; j++ {
				if ins[k], err = byteTensor(sp.kvType, m.kvSlot(kv, cur, l, j, P), 1, kvH, int64(P), hd); err != nil {
					return 0, 0, err
				}
				k++
				if outs[1+2*l+j], err = byteTensor(sp.kvType, m.kvSlot(kv, 1-cur, l, j, P+T), 1, kvH, int64(P+T), hd); err != nil {
					return 0, 0, err
				}
			}
		}
		t := time.Now()
		err = m.decoder.RunWithOptions(ins, outs, ro)
		d := time.Since(t)
		if err != nil {
			return 0, d, fmt.Errorf("%w: decoder: %v", ErrModel, err)
		}
		tok := m.argmaxLast(m.logits, T)
		destroy(ins)
		destroy(outs)
		cur = 1 - cur
		return tok, d, nil
	}

	t = time.Now()
	tok, _, err := step(emb, 0, S0, pos, ro)
	if err != nil {
		return nil, wrap(err)
	}
	g.Timings.Prefill = time.Since(t)
	t = time.Now()
	P := S0
	posOne := []int64{0}
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
		r := time.Now()
		if err := m.embed(nil, []int64{tok}, stepEmb); err != nil {
			return nil, wrap(err)
		}
		g.Timings.DecodeRuns += time.Since(r)
		posOne[0] = int64(P)
		var d time.Duration
		tok, d, err = step(stepEmb, P, 1, posOne, nil)
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
