package inference

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/radraft/radraft/inference/ortext"
)

// boundSessions are the model's sessions when it runs through IoBinding
// (ortext): the CUDA path, and on CPU the same code over host memory.
//
// The KV cache, the decode step's embedding and the logits live in the
// execution provider's memory (the GPU on CUDA), in blocks allocated once
// with the provider's allocator and reused by later generations:
//   - kv[0], kv[1]: the double-buffered cache. Step n binds past_key_values.*
//     to views of one set and present.* to views of the other, so the
//     decoder writes the new cache where the next step reads it and no byte
//     of it leaves the device. (A decoder with GroupQueryAttention's shared
//     past/present buffer would halve this; the bundles radraft loads today
//     concatenate in the graph, so both sets are needed.)
//   - stepEmb: the embedding graph writes the decode step's inputs_embeds
//     here and the decoder reads it from here.
//   - logits: the decoder's output; only the last position's row is copied
//     back to the host (CopyTensors), V values per step.
//
// Host memory goes in only where it is small or once per draft: the pixel
// tensor, the prompt's embeddings for the prefill, the token id, the
// attention mask and position ids.
type boundSessions struct {
	vision, embedding, decoder *ortext.Session
	visB, embB, decB           *ortext.Binding
	host                       *ortext.MemoryInfo
	dev                        *ortext.MemoryInfo // == host on the CPU provider
	alloc                      *ortext.Allocator  // of dev

	// hostLogits: the runtime offers no CopyTensors between the device and
	// the host (a provider whose factory registers no data transfer), so
	// the logits are bound to host memory and the runtime copies all T rows
	// of them (one row on a decode step, the whole prompt after a prefill).
	hostLogits bool

	kvCap     int
	kv        [2]unsafe.Pointer
	logitsCap int // positions
	logits    unsafe.Pointer
	stepEmb   unsafe.Pointer
}

// openBound opens the bundle's three graphs through ortext with the
// session options of d (CUDA: the CUDA plugin EP on GPU d.DeviceID).
func openBound(dir string, man *Manifest, d DeviceOptions) (*boundSessions, error) {
	opts, err := ortext.NewSessionOptions(d.IntraOpThreads)
	if err != nil {
		return nil, err
	}
	defer opts.Release()
	b := &boundSessions{}
	if b.host, err = ortext.CPUMemory(); err != nil {
		return nil, err
	}
	b.dev = b.host
	if d.CUDA {
		ep, err := cudaDevice(d)
		if err != nil {
			b.release()
			return nil, err
		}
		if err := opts.AppendEP(ep, cudaProviderOptions(d)); err != nil {
			b.release()
			return nil, &cudaError{"cuda: " + oneLine(err.Error())}
		}
		if b.dev = ep.Memory(); b.dev == nil {
			b.release()
			return nil, &cudaError{"cuda: the CUDA provider reports no device memory"}
		}
	}
	open := func(file string) (*ortext.Session, *ortext.Binding, error) {
		s, err := ortext.NewSession(filepath.Join(dir, file), opts)
		if err != nil {
			return nil, nil, fmt.Errorf("model bundle %s: %s: %w", dir, file, err)
		}
		bd, err := s.NewBinding()
		if err != nil {
			s.Release()
			return nil, nil, err
		}
		return s, bd, nil
	}
	steps := []struct {
		file string
		s    **ortext.Session
		bd   **ortext.Binding
	}{{man.Files.Vision, &b.vision, &b.visB}, {man.Files.Embedding, &b.embedding, &b.embB}, {man.Files.Decoder, &b.decoder, &b.decB}}
	for _, st := range steps {
		if *st.s, *st.bd, err = open(st.file); err != nil {
			b.release()
			return nil, err
		}
	}
	if b.alloc, err = ortext.NewAllocator(b.dev); err != nil {
		b.release()
		return nil, fmt.Errorf("allocator for %v memory: %w", d, err)
	}
	if b.dev.OnDevice() {
		if err := b.copyProbe(); err != nil {
			b.hostLogits = true
			slog.Warn("inference: no device-to-host CopyTensors; logits are bound to host memory (whole rows come back)", "device", d.String(), "err", err)
		}
	}
	return b, nil
}

// copyProbe copies 64 bytes of device memory to the host with CopyTensors.
func (b *boundSessions) copyProbe() error {
	p, err := b.alloc.Alloc(64)
	if err != nil {
		return err
	}
	defer b.alloc.Free(p) //nolint:errcheck
	src, err := ortext.NewTensor(b.dev, p, 64, int(ort.TensorElementDataTypeFloat), 16)
	if err != nil {
		return err
	}
	defer src.Release()
	buf := floatBuf(64)
	dst, err := ortext.NewTensor(b.host, unsafe.Pointer(&buf[0]), 64, int(ort.TensorElementDataTypeFloat), 16)
	if err != nil {
		return err
	}
	defer dst.Release()
	return ortext.CopyTensor(src, dst)
}

// cudaProviderOptions are the CUDA provider's options (the keys of
// CUDAExecutionProviderInfo, which the plugin reads from the V2 options):
//   - device_id: the N of cuda:N;
//   - use_tf32 0: float32 matmuls in float32, not TF32, so a float32 bundle
//     gives the CPU's tokens (float16 bundles are unaffected);
//   - arena_extend_strategy kSameAsRequested: activations vary with the
//     prompt length, and power-of-two arena growth would waste most of a
//     7B model's headroom (the KV cache is allocated once, by reserve);
//   - cudnn_conv_algo_search HEURISTIC: the only convolution is the ViT's
//     patch embedding; exhaustive search costs start-up time for nothing.
//
// Not yet run on a GPU (none was available); bench/gpu is the check.
func cudaProviderOptions(d DeviceOptions) map[string]string {
	return map[string]string{
		"device_id":              strconv.Itoa(d.DeviceID),
		"use_tf32":               "0",
		"arena_extend_strategy":  "kSameAsRequested",
		"cudnn_conv_algo_search": "HEURISTIC",
	}
}

// reserve makes sure the device blocks fit a generation of total positions
// with a prompt of S0.
func (m *Model) reserve(S0, total int) error {
	b := m.bound
	grow := func(p *unsafe.Pointer, n int) error {
		if *p != nil {
			b.alloc.Free(*p) //nolint:errcheck
			*p = nil
		}
		var err error
		*p, err = b.alloc.Alloc(n)
		return err
	}
	if b.kvCap < total {
		b.kvCap = 0
		for s := range b.kv {
			if err := grow(&b.kv[s], m.kvSetBytes(total)); err != nil {
				return fmt.Errorf("KV cache of %d positions: %w", total, err)
			}
		}
		b.kvCap = total
	}
	if b.hostLogits {
		if n := S0 * m.Manifest.VocabSize * elemSize(m.spec.logitsType); cap(m.logits) < n {
			m.logits = floatBuf(n)
		}
	} else if b.logitsCap < S0 {
		b.logitsCap = 0
		if err := grow(&b.logits, S0*m.Manifest.VocabSize*elemSize(m.spec.logitsType)); err != nil {
			return fmt.Errorf("logits of %d positions: %w", S0, err)
		}
		b.logitsCap = S0
	}
	if b.stepEmb == nil {
		return grow(&b.stepEmb, m.Manifest.HiddenSize*elemSize(m.spec.embedType))
	}
	return nil
}

func (b *boundSessions) release() {
	for _, p := range []*unsafe.Pointer{&b.kv[0], &b.kv[1], &b.logits, &b.stepEmb} {
		if *p != nil && b.alloc != nil {
			b.alloc.Free(*p) //nolint:errcheck
			*p = nil
		}
	}
	for _, bd := range []*ortext.Binding{b.visB, b.embB, b.decB} {
		bd.Release()
	}
	for _, s := range []*ortext.Session{b.vision, b.embedding, b.decoder} {
		s.Release()
	}
	if b.host != nil {
		b.host.Release()
	}
}

// bindingLoop is one generation through IoBinding.
type bindingLoop struct {
	m        *Model
	b        *boundSessions
	ro       *ortext.RunOptions
	releaseR func()
	ones     []int64
	pos      []int64
	tokOne   []int64
	posOne   []int64
	row      []byte // the last position's logits, on the host
	vals     []*ortext.Value
	cur      int
}

func (m *Model) newBindingLoop(ctx context.Context, S0, total int) (decodeLoop, error) {
	if err := m.reserve(S0, total); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrModel, err)
	}
	ro, err := ortext.NewRunOptions()
	if err != nil {
		return nil, err
	}
	stop := terminateOnCancel(ctx, ro.Terminate)
	l := &bindingLoop{m: m, b: m.bound, ro: ro, ones: allOnes(total), pos: make([]int64, S0),
		tokOne: []int64{0}, posOne: []int64{0},
		row: floatBuf(m.Manifest.VocabSize * elemSize(m.spec.logitsType))}
	l.releaseR = func() {
		stop()
		ro.Release()
	}
	for i := range l.pos {
		l.pos[i] = int64(i)
	}
	return l, nil
}

func (l *bindingLoop) release() {
	l.drop()
	l.releaseR()
}

// host wraps Go memory as a tensor; dev wraps n bytes at off in a device
// block. Both are released by drop after the run that uses them.
func (l *bindingLoop) host(b []byte, t ort.TensorElementDataType, shape ...int64) (*ortext.Value, error) {
	if len(b) == 0 {
		b = floatBuf(4) // a zero-element tensor over any buffer
	}
	return l.keep(ortext.NewTensor(l.b.host, unsafe.Pointer(&b[0]), len(b), int(t), shape...))
}

func (l *bindingLoop) dev(block unsafe.Pointer, off, n int, t ort.TensorElementDataType, shape ...int64) (*ortext.Value, error) {
	return l.keep(ortext.NewTensor(l.b.dev, unsafe.Add(block, off), n, int(t), shape...))
}

func (l *bindingLoop) keep(v *ortext.Value, err error) (*ortext.Value, error) {
	if err == nil {
		l.vals = append(l.vals, v)
	}
	return v, err
}

func (l *bindingLoop) drop() {
	for _, v := range l.vals {
		v.Release()
	}
	l.vals = l.vals[:0]
}

// run runs s on what bd binds, then unbinds; graph is the name in errors.
func (l *bindingLoop) run(s *ortext.Session, bd *ortext.Binding, ro *ortext.RunOptions, graph string) error {
	err := s.Run(bd, ro)
	if err == nil && l.b.dev.OnDevice() {
		err = bd.SyncOutputs()
	}
	bd.Clear()
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrModel, graph, err)
	}
	return nil
}

// bind binds inputs then outputs (name, value pairs) on bd.
func bind(bd *ortext.Binding, ins, outs []named) error {
	for _, in := range ins {
		if err := bd.Input(in.name, in.v); err != nil {
			return fmt.Errorf("%w: input %s: %v", ErrModel, in.name, err)
		}
	}
	for _, out := range outs {
		if err := bd.Output(out.name, out.v); err != nil {
			return fmt.Errorf("%w: output %s: %v", ErrModel, out.name, err)
		}
	}
	return nil
}

type named struct {
	name string
	v    *ortext.Value
}

func (l *bindingLoop) vision(pixels []float32, dst []byte) error {
	defer l.drop()
	m := l.m
	S := int64(m.Manifest.ImageSize)
	px, err := m.pixelBytes(pixels)
	if err != nil {
		return err
	}
	in, err := l.host(px, m.spec.pixelType, 1, 3, S, S)
	if err != nil {
		return err
	}
	out, err := l.host(dst, m.spec.embedType, 1, int64(m.Manifest.ImageTokens), int64(m.Manifest.HiddenSize))
	if err != nil {
		return err
	}
	if err := bind(l.b.visB, []named{{"pixel_values", in}}, []named{{"image_features", out}}); err != nil {
		return err
	}
	return l.run(l.b.vision, l.b.visB, l.ro, "vision")
}

func (l *bindingLoop) embedPrompt(ids []int64, dst []byte) error {
	if len(ids) == 0 {
		return nil
	}
	defer l.drop()
	out, err := l.host(dst, l.m.spec.embedType, 1, int64(len(ids)), int64(l.m.Manifest.HiddenSize))
	if err != nil {
		return err
	}
	return l.embedInto(ids, out, l.ro)
}

func (l *bindingLoop) embedInto(ids []int64, out *ortext.Value, ro *ortext.RunOptions) error {
	in, err := l.host(int64Bytes(ids), ort.TensorElementDataTypeInt64, 1, int64(len(ids)))
	if err != nil {
		return err
	}
	if err := bind(l.b.embB, []named{{"input_ids", in}}, []named{{"inputs_embeds", out}}); err != nil {
		return err
	}
	return l.run(l.b.embedding, l.b.embB, ro, "embedding")
}

func (l *bindingLoop) prefill(emb []byte, S0 int) (int64, error) {
	defer l.drop()
	e, err := l.host(emb, l.m.spec.embedType, 1, int64(S0), int64(l.m.Manifest.HiddenSize))
	if err != nil {
		return 0, err
	}
	tok, _, err := l.decode(e, 0, S0, l.pos, l.ro)
	return tok, err
}

// step: the token's embedding is written into the device block stepEmb by
// the embedding graph and read from there by the decoder.
func (l *bindingLoop) step(tok int64, P int) (int64, time.Duration, error) {
	defer l.drop()
	H := l.m.Manifest.HiddenSize
	e, err := l.dev(l.b.stepEmb, 0, H*elemSize(l.m.spec.embedType), l.m.spec.embedType, 1, 1, int64(H))
	if err != nil {
		return 0, 0, err
	}
	l.tokOne[0] = tok
	r := time.Now()
	if err := l.embedInto(l.tokOne, e, nil); err != nil {
		return 0, 0, err
	}
	d := time.Since(r)
	l.posOne[0] = int64(P)
	tok, dd, err := l.decode(e, P, 1, l.posOne, nil)
	return tok, d + dd, err
}

// decode runs the decoder over T new positions (embeds) after P cached
// ones: past from kv[cur], present into kv[1-cur], logits into the logits
// block; the last row comes back to the host for the argmax.
func (l *bindingLoop) decode(embeds *ortext.Value, P, T int, posIDs []int64, ro *ortext.RunOptions) (int64, time.Duration, error) {
	m, sp, man, b := l.m, l.m.spec, l.m.Manifest, l.b
	kvH, hd := int64(man.NumKVHeads), int64(man.HeadSize)
	ins := []named{{sp.decInputs[0], embeds}}
	mask, err := l.host(int64Bytes(l.ones[:P+T]), ort.TensorElementDataTypeInt64, 1, int64(P+T))
	if err != nil {
		return 0, 0, err
	}
	ins = append(ins, named{sp.decInputs[1], mask})
	if sp.positionIDs {
		pos, err := l.host(int64Bytes(posIDs), ort.TensorElementDataTypeInt64, 1, int64(T))
		if err != nil {
			return 0, 0, err
		}
		ins = append(ins, named{sp.decInputs[2], pos})
	}
	V, lsz := man.VocabSize, elemSize(sp.logitsType)
	var logits *ortext.Value
	if b.hostLogits {
		logits, err = l.host(m.logits[:T*V*lsz], sp.logitsType, 1, int64(T), int64(V))
	} else {
		logits, err = l.dev(b.logits, 0, T*V*lsz, sp.logitsType, 1, int64(T), int64(V))
	}
	if err != nil {
		return 0, 0, err
	}
	outs := []named{{sp.decOutputs[0], logits}}
	k := len(ins)
	slotCap := m.kvSlotBytes(b.kvCap)
	for ly := 0; ly < man.NumLayers; ly++ {
		for j := 0; j < 2; j++ {
			off := (2*ly + j) * slotCap
			past, err := l.dev(b.kv[l.cur], off, m.kvSlotBytes(P), sp.kvType, 1, kvH, int64(P), hd)
			if err != nil {
				return 0, 0, err
			}
			present, err := l.dev(b.kv[1-l.cur], off, m.kvSlotBytes(P+T), sp.kvType, 1, kvH, int64(P+T), hd)
			if err != nil {
				return 0, 0, err
			}
			ins = append(ins, named{sp.decInputs[k], past})
			outs = append(outs, named{sp.decOutputs[1+2*ly+j], present})
			k++
		}
	}
	if err := bind(b.decB, ins, outs); err != nil {
		return 0, 0, err
	}
	t := time.Now()
	err = l.run(b.decoder, b.decB, ro, "decoder")
	d := time.Since(t)
	if err != nil {
		return 0, d, err
	}
	l.cur = 1 - l.cur
	if b.hostLogits {
		return m.argmaxRow(m.logits[(T-1)*V*lsz : T*V*lsz]), d, nil
	}
	last, err := l.dev(b.logits, (T-1)*V*lsz, V*lsz, sp.logitsType, 1, 1, int64(V))
	if err != nil {
		return 0, d, err
	}
	row, err := l.host(l.row, sp.logitsType, 1, 1, int64(V))
	if err != nil {
		return 0, d, err
	}
	if err := ortext.CopyTensor(last, row); err != nil {
		return 0, d, fmt.Errorf("%w: logits to host: %v", ErrModel, err)
	}
	return m.argmaxRow(l.row), d, nil
}
