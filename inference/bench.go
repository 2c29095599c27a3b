package inference

import (
	"context"
	"math"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

// BareDecode runs the same ONNX Runtime calls as a generation of steps
// tokens after a prompt of promptLen positions (one prefill, then per step
// one embedding run and one decoder run over the double-buffered cache),
// with every tensor created before the clock starts and no argmax or
// bookkeeping: the floor Generate's loop is measured against. It returns
// the prefill time and the time of the steps. It is kept in one piece
// because it is a benchmark reference: every ONNX Runtime call it times
// stays visible in one place, beside the loop it is compared with.
func (m *Model) BareDecode(ctx context.Context, promptLen, steps int) (prefill, decode time.Duration, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	man, sp := m.Manifest, m.spec
	H, V, L := man.HiddenSize, man.VocabSize, man.NumLayers
	es, lsz := elemSize(sp.embedType), elemSize(sp.logitsType)
	kvH, hd := int64(man.NumKVHeads), int64(man.HeadSize)
	total := promptLen + steps
	kv := m.buffers(total)
	emb := benchEmbeds(promptLen*H, sp.embedType)
	logits := floatBuf(promptLen * V * lsz)
	ones := make([]int64, total)
	for i := range ones {
		ones[i] = 1
	}
	step, err := m.newBenchStep(H, es)
	if err != nil {
		return 0, 0, err
	}
	defer step.destroy()
	stepEmb, ids, embOut := step.emb, step.ids, step.out
	// Each run's tensors are made (and dropped) off the clock, just before
	// (and after) it, like Generate does; only the Run calls are timed.
	cur := 0
	var ins, outs []ort.Value
	drop := func() {
		for _, v := range append(ins, outs...) {
			v.Destroy()
		}
		ins, outs = ins[:0], outs[:0]
	}
	defer drop()
	for s := 0; s <= steps; s++ {
		P, T := 0, promptLen
		e := emb
		if s > 0 {
			P, T, e = promptLen+s-1, 1, stepEmb
		}
		pos := make([]int64, T)
		for i := range pos {
			pos[i] = int64(P + i)
		}
		addIn := func(v ort.Value, err error) error {
			if err == nil {
				ins = append(ins, v)
			}
			return err
		}
		addOut := func(v ort.Value, err error) error {
			if err == nil {
				outs = append(outs, v)
			}
			return err
		}
		if err := addIn(wrap(byteTensor(sp.embedType, e, 1, int64(T), int64(H)))); err != nil {
			return 0, 0, err
		}
		if err := addIn(wrap(ort.NewTensor(ort.NewShape(1, int64(P+T)), ones))); err != nil {
			return 0, 0, err
		}
		if sp.positionIDs {
			if err := addIn(wrap(ort.NewTensor(ort.NewShape(1, int64(T)), pos))); err != nil {
				return 0, 0, err
			}
		}
		if err := addOut(wrap(byteTensor(sp.logitsType, logits[:T*V*lsz], 1, int64(T), int64(V)))); err != nil {
			return 0, 0, err
		}
		for l := 0; l < L; l++ {
			for j := 0; j < 2; j++ {
				if err := addIn(wrap(byteTensor(sp.kvType, m.kvSlot(kv, cur, l, j, P), 1, kvH, int64(P), hd))); err != nil {
					return 0, 0, err
				}
				if err := addOut(wrap(byteTensor(sp.kvType, m.kvSlot(kv, 1-cur, l, j, P+T), 1, kvH, int64(P+T), hd))); err != nil {
					return 0, 0, err
				}
			}
		}
		cur = 1 - cur
		t := time.Now()
		if s > 0 {
			if err := m.embedding.Run([]ort.Value{ids}, []ort.Value{embOut}); err != nil {
				return 0, 0, err
			}
		}
		if err := m.decoder.Run(ins, outs); err != nil {
			return 0, 0, err
		}
		if s == 0 {
			prefill = time.Since(t)
		} else {
			decode += time.Since(t)
		}
		drop()
	}
	return prefill, decode, ctx.Err()
}

func wrap[T ort.Value](v T, err error) (ort.Value, error) { return v, err }

// NaiveDecode is the loop written the obvious way with onnxruntime_go: the
// decoder's outputs are left nil, so the library has ONNX Runtime allocate
// logits and every present.N tensor and then copies each into a fresh
// Go-backed tensor, which becomes the next step's past. Generate avoids
// that copy (and the allocation) by giving ONNX Runtime Go-backed output
// buffers to write into. Only for comparison in benchmarks; kept in one
// piece, like BareDecode, so the obvious loop reads as one listing.
func (m *Model) NaiveDecode(ctx context.Context, promptLen, steps int) (prefill, decode time.Duration, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	man, sp := m.Manifest, m.spec
	H, L := man.HiddenSize, man.NumLayers
	es := elemSize(sp.embedType)
	kvH, hd := int64(man.NumKVHeads), int64(man.HeadSize)
	ones := make([]int64, promptLen+steps)
	for i := range ones {
		ones[i] = 1
	}
	past := make([]ort.Value, 2*L)
	for i := range past {
		if past[i], err = byteTensor(sp.kvType, nil, 1, kvH, 0, hd); err != nil {
			return 0, 0, err
		}
	}
	defer func() {
		for _, v := range past {
			v.Destroy()
		}
	}()
	emb := benchEmbeds(promptLen*H, sp.embedType)
	step, err := m.newBenchStep(H, es)
	if err != nil {
		return 0, 0, err
	}
	defer step.destroy()
	stepEmb, ids, embOut := step.emb, step.ids, step.out
	P := 0
	run := func(e []byte, T int) error {
		pos := make([]int64, T)
		for i := range pos {
			pos[i] = int64(P + i)
		}
		in := []ort.Value{}
		et, err := byteTensor(sp.embedType, e, 1, int64(T), int64(H))
		if err != nil {
			return err
		}
		defer et.Destroy()
		mt, err := ort.NewTensor(ort.NewShape(1, int64(P+T)), ones)
		if err != nil {
			return err
		}
		defer mt.Destroy()
		in = append(in, et, mt)
		if sp.positionIDs {
			pt, err := ort.NewTensor(ort.NewShape(1, int64(T)), pos)
			if err != nil {
				return err
			}
			defer pt.Destroy()
			in = append(in, pt)
		}
		in = append(in, past...)
		outs := make([]ort.Value, 1+2*L)
		if err := m.decoder.Run(in, outs); err != nil {
			return err
		}
		outs[0].Destroy()
		for i := range past {
			past[i].Destroy()
			past[i] = outs[1+i]
		}
		P += T
		return nil
	}
	t := time.Now()
	if err := run(emb, promptLen); err != nil {
		return 0, 0, err
	}
	prefill = time.Since(t)
	t = time.Now()
	for s := 0; s < steps; s++ {
		if err := m.embedding.Run([]ort.Value{ids}, []ort.Value{embOut}); err != nil {
			return 0, 0, err
		}
		if err := run(stepEmb, 1); err != nil {
			return 0, 0, err
		}
	}
	return prefill, time.Since(t), ctx.Err()
}

// benchEmbeds are n deterministic embedding-sized values (|x| < 0.05), so
// that benchmark runs see ordinary activations rather than zeros.
func benchEmbeds(n int, t ort.TensorElementDataType) []byte {
	b := floatBuf(n * elemSize(t))
	x := uint32(12345)
	for i := 0; i < n; i++ {
		x = x*1664525 + 1013904223
		v := (float32(x>>8)/float32(1<<24) - 0.5) / 10
		if t == ort.TensorElementDataTypeFloat16 {
			h := f32ToF16(v)
			b[2*i], b[2*i+1] = byte(h), byte(h>>8)
		} else {
			bits := math.Float32bits(v)
			b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(bits), byte(bits>>8), byte(bits>>16), byte(bits>>24)
		}
	}
	return b
}

// benchStep is what one decode step's embedding run needs: a fixed input id
// and a Go buffer its embedding is written into.
type benchStep struct {
	emb []byte
	ids *ort.Tensor[int64]
	out ort.Value
}

func (m *Model) newBenchStep(hidden, elemSize int) (*benchStep, error) {
	st := &benchStep{emb: floatBuf(hidden * elemSize)}
	var err error
	if st.ids, err = ort.NewTensor(ort.NewShape(1, 1), []int64{5}); err != nil {
		return nil, err
	}
	if st.out, err = byteTensor(m.spec.embedType, st.emb, 1, 1, int64(hidden)); err != nil {
		st.ids.Destroy()
		return nil, err
	}
	return st, nil
}

func (st *benchStep) destroy() {
	st.ids.Destroy()
	st.out.Destroy()
}
