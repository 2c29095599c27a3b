package inference

import (
	"context"
	"fmt"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

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
	c := &kvCache{capTokens: total}
	for s := range c.bufs {
		c.bufs[s] = floatBuf(m.kvSetBytes(total))
	}
	m.kv = c
	return c
}

// kvSlotBytes is the size of one layer's key (or value) for p positions.
func (m *Model) kvSlotBytes(p int) int {
	man := m.Manifest
	return man.NumKVHeads * p * man.HeadSize * elemSize(m.spec.kvType)
}

// kvSetBytes is one buffer set: every layer's key and value for p positions.
func (m *Model) kvSetBytes(p int) int { return 2 * m.Manifest.NumLayers * m.kvSlotBytes(p) }

// kvSlot is layer l's key (j=0) or value (j=1) buffer in set s, sized for p tokens.
func (m *Model) kvSlot(c *kvCache, s, l, j, p int) []byte {
	off := (2*l + j) * m.kvSlotBytes(c.capTokens)
	return c.bufs[s][off : off+m.kvSlotBytes(p)]
}

// runLoop is today's CPU loop: every tensor is a Go buffer handed to
// onnxruntime_go's Run, present.* written straight into the other half of
// the double-buffered cache.
type runLoop struct {
	m        *Model
	ro       *ort.RunOptions
	releaseR func()
	kv       *kvCache
	ones     []int64
	pos      []int64
	posOne   []int64
	stepEmb  []byte
	ins      []ort.Value
	outs     []ort.Value
	cur      int
}

func (m *Model) newRunLoop(ctx context.Context, S0, total int) (decodeLoop, error) {
	ro, release, err := runOptions(ctx)
	if err != nil {
		return nil, err
	}
	man, sp := m.Manifest, m.spec
	l := &runLoop{m: m, ro: ro, releaseR: release, kv: m.buffers(total),
		ones: allOnes(total), pos: make([]int64, S0), posOne: []int64{0},
		stepEmb: floatBuf(man.HiddenSize * elemSize(sp.embedType)),
		ins:     make([]ort.Value, len(sp.decInputs)), outs: make([]ort.Value, len(sp.decOutputs))}
	for i := range l.pos {
		l.pos[i] = int64(i)
	}
	if n := S0 * man.VocabSize * elemSize(sp.logitsType); cap(m.logits) < n {
		m.logits = floatBuf(n)
	}
	return l, nil
}

// allOnes is the attention mask of n positions (all ones).
func allOnes(n int) []int64 {
	ones := make([]int64, n)
	for i := range ones {
		ones[i] = 1
	}
	return ones
}

func (l *runLoop) release() {
	destroyValues(l.ins)
	destroyValues(l.outs)
	l.releaseR()
}

func destroyValues(vs []ort.Value) {
	for i, v := range vs {
		if v != nil {
			v.Destroy()
			vs[i] = nil
		}
	}
}

func (l *runLoop) vision(pixels []float32, dst []byte) error {
	m := l.m
	S := int64(m.Manifest.ImageSize)
	px, err := m.pixelBytes(pixels)
	if err != nil {
		return err
	}
	in, err := byteTensor(m.spec.pixelType, px, 1, 3, S, S)
	if err != nil {
		return err
	}
	defer in.Destroy()
	out, err := byteTensor(m.spec.embedType, dst, 1, int64(m.Manifest.ImageTokens), int64(m.Manifest.HiddenSize))
	if err != nil {
		return err
	}
	defer out.Destroy()
	if err := m.vision.RunWithOptions([]ort.Value{in}, []ort.Value{out}, l.ro); err != nil {
		return fmt.Errorf("%w: vision: %v", ErrModel, err)
	}
	return nil
}

func (l *runLoop) embedPrompt(ids []int64, dst []byte) error { return l.m.embed(l.ro, ids, dst) }

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

func (l *runLoop) prefill(emb []byte, S0 int) (int64, error) {
	tok, _, err := l.decode(emb, 0, S0, l.pos, l.ro)
	return tok, err
}

// RunOptions (for Terminate on cancellation) cost about a tenth of a small
// decoder step, so only the long runs (vision, embedding of the prompt,
// prefill) use them; steps are short and ctx is checked between them.
func (l *runLoop) step(tok int64, P int) (int64, time.Duration, error) {
	r := time.Now()
	if err := l.m.embed(nil, []int64{tok}, l.stepEmb); err != nil {
		return 0, 0, err
	}
	d := time.Since(r)
	l.posOne[0] = int64(P)
	tok, dd, err := l.decode(l.stepEmb, P, 1, l.posOne, nil)
	return tok, d + dd, err
}

// decode runs the decoder over T new positions after P cached ones.
func (l *runLoop) decode(embeds []byte, P, T int, posIDs []int64, ro *ort.RunOptions) (int64, time.Duration, error) {
	m, sp, man := l.m, l.m.spec, l.m.Manifest
	ins, outs := l.ins, l.outs
	lsz := elemSize(sp.logitsType)
	kvH, hd := int64(man.NumKVHeads), int64(man.HeadSize)
	var err error
	k := 0
	if ins[k], err = byteTensor(sp.embedType, embeds, 1, int64(T), int64(man.HiddenSize)); err != nil {
		return 0, 0, err
	}
	k++
	if ins[k], err = ort.NewTensor(ort.NewShape(1, int64(P+T)), l.ones[:P+T]); err != nil {
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
	for ly := 0; ly < man.NumLayers; ly++ {
		for j := 0; j < 2; j++ {
			if ins[k], err = byteTensor(sp.kvType, m.kvSlot(l.kv, l.cur, ly, j, P), 1, kvH, int64(P), hd); err != nil {
				return 0, 0, err
			}
			k++
			if outs[1+2*ly+j], err = byteTensor(sp.kvType, m.kvSlot(l.kv, 1-l.cur, ly, j, P+T), 1, kvH, int64(P+T), hd); err != nil {
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
	row := man.VocabSize * lsz
	tok := m.argmaxRow(m.logits[(T-1)*row : T*row])
	destroyValues(ins)
	destroyValues(outs)
	l.cur = 1 - l.cur
	return tok, d, nil
}
