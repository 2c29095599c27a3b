package inference

import (
	"context"
	"fmt"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

// BareDecode runs the same ONNX Runtime calls as a generation of steps
// tokens after a prompt of promptLen positions (one prefill, then per step
// one embedding run and one decoder run over the double-buffered cache),
// with every tensor created before the clock starts and no argmax or
// bookkeeping: the floor Generate's loop is measured against. It returns
// the prefill time and the time of the steps.
func (m *Model) BareDecode(ctx context.Context, promptLen, steps int) (prefill, decode time.Duration, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	man, sp := m.Manifest, m.spec
	H, V, L := man.HiddenSize, man.VocabSize, man.NumLayers
	es, lsz := elemSize(sp.embedType), elemSize(sp.logitsType)
	kvH, hd := int64(man.NumKVHeads), int64(man.HeadSize)
	total := promptLen + steps
	kv := m.buffers(total)
	emb := floatBuf(promptLen * H * es)
	stepEmb := floatBuf(H * es)
	logits := floatBuf(promptLen * V * lsz)
	ones := make([]int64, total)
	for i := range ones {
		ones[i] = 1
	}
	type run struct{ ins, outs []ort.Value }
	var runs []run
	var all []ort.Value
	defer func() {
		for _, v := range all {
			v.Destroy()
		}
	}()
	keep := func(v ort.Value, err error) ort.Value {
		if err != nil {
			panic(err)
		}
		all = append(all, v)
		return v
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bare decode: %v", r)
		}
	}()
	cur := 0
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
		r := run{}
		r.ins = append(r.ins, keep(byteTensor(sp.embedType, e, 1, int64(T), int64(H))))
		r.ins = append(r.ins, keep(ort.NewTensor(ort.NewShape(1, int64(P+T)), ones)))
		if sp.positionIDs {
			r.ins = append(r.ins, keep(ort.NewTensor(ort.NewShape(1, int64(T)), pos)))
		}
		r.outs = append(r.outs, keep(byteTensor(sp.logitsType, logits[:T*V*lsz], 1, int64(T), int64(V))))
		for l := 0; l < L; l++ {
			for j := 0; j < 2; j++ {
				r.ins = append(r.ins, keep(byteTensor(sp.kvType, m.kvSlot(kv, cur, l, j, P), 1, kvH, int64(P), hd)))
				r.outs = append(r.outs, keep(byteTensor(sp.kvType, m.kvSlot(kv, 1-cur, l, j, P+T), 1, kvH, int64(P+T), hd)))
			}
		}
		cur = 1 - cur
		runs = append(runs, r)
	}
	ids := keep(ort.NewTensor(ort.NewShape(1, 1), []int64{5}))
	embOut := keep(byteTensor(sp.embedType, stepEmb, 1, 1, int64(H)))
	t := time.Now()
	if err := m.decoder.Run(runs[0].ins, runs[0].outs); err != nil {
		return 0, 0, err
	}
	prefill = time.Since(t)
	t = time.Now()
	for _, r := range runs[1:] {
		if err := m.embedding.Run([]ort.Value{ids}, []ort.Value{embOut}); err != nil {
			return 0, 0, err
		}
		if err := m.decoder.Run(r.ins, r.outs); err != nil {
			return 0, 0, err
		}
	}
	decode = time.Since(t)
	return prefill, decode, ctx.Err()
}
