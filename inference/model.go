package inference

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

// DeviceOptions selects the execution provider and threads.
type DeviceOptions struct {
	// CUDA selects the CUDA execution provider on GPU DeviceID.
	CUDA     bool
	DeviceID int
	// IntraOpThreads for the CPU provider; 0 = ONNX Runtime's default (one
	// per physical core).
	IntraOpThreads int
	// Loop picks the generation loop on the CPU provider (CUDA always uses
	// LoopBinding); the zero value is DefaultCPULoop.
	Loop Loop
}

// Loop is how generation drives ONNX Runtime.
type Loop int

const (
	// LoopDefault is DefaultCPULoop on CPU and LoopBinding on CUDA.
	LoopDefault Loop = iota
	// LoopRun: onnxruntime_go's Run over tensors in Go memory (loop_run.go).
	LoopRun
	// LoopBinding: IoBinding through ortext, the KV cache in the provider's
	// memory (loop_binding.go); the only loop that keeps it on a GPU.
	LoopBinding
)

// DefaultCPULoop is the CPU provider's loop: the faster of the two on the
// demo model (bench/inference/loopbench).
const DefaultCPULoop = LoopRun

func (l Loop) String() string {
	return [...]string{"default", "run", "binding"}[l]
}

// loop is the loop d resolves to.
func (d DeviceOptions) loop() Loop {
	switch {
	case d.CUDA:
		return LoopBinding
	case d.Loop == LoopDefault:
		return DefaultCPULoop
	}
	return d.Loop
}

// ParseDevice reads RADRAFT_DEVICE: "cpu", "cuda" or "cuda:N".
func ParseDevice(s string) (DeviceOptions, error) {
	switch {
	case s == "" || s == "cpu":
		return DeviceOptions{}, nil
	case s == "cuda":
		return DeviceOptions{CUDA: true}, nil
	case strings.HasPrefix(s, "cuda:"):
		n, err := strconv.Atoi(s[5:])
		if err != nil || n < 0 {
			return DeviceOptions{}, fmt.Errorf("device %q: want cuda:N with N a GPU index", s)
		}
		return DeviceOptions{CUDA: true, DeviceID: n}, nil
	}
	return DeviceOptions{}, fmt.Errorf("device %q: want cpu, cuda or cuda:N", s)
}

func (d DeviceOptions) String() string {
	if d.CUDA {
		return "cuda:" + strconv.Itoa(d.DeviceID)
	}
	return "cpu"
}

// sessionOptions builds onnxruntime_go session options for the CPU
// provider (LoopRun). CUDA sessions are made through ortext (openBound):
// the CUDA provider is a plugin that onnxruntime_go cannot append.
func sessionOptions(d DeviceOptions) (*ort.SessionOptions, error) {
	o, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	if err := o.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll); err != nil {
		o.Destroy()
		return nil, err
	}
	if d.IntraOpThreads > 0 {
		if err := o.SetIntraOpNumThreads(d.IntraOpThreads); err != nil {
			o.Destroy()
			return nil, err
		}
	}
	return o, nil
}

// Model is a loaded, validated bundle: three ORT sessions and the
// preprocessing. Generate may be called from several goroutines; runs are
// serialised (one generation at a time uses the whole CPU or GPU anyway).
type Model struct {
	Dir      string
	Manifest *Manifest
	Device   DeviceOptions
	Pre      *Preprocessor

	spec                       *graphSpec
	vision, embedding, decoder *ort.DynamicAdvancedSession // LoopRun
	bound                      *boundSessions              // LoopBinding
	mu                         sync.Mutex
	loadTime                   time.Duration
	// reused between generations (guarded by mu)
	kv     *kvCache
	logits []byte
}

// Info describes a loaded model, for `model check` and readiness.
type Info struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Demo        bool   `json:"demo"`
	Notice      string `json:"notice,omitempty"`
	Dir         string `json:"dir"`
	Device      string `json:"device"`
	Loop        string `json:"loop"`
	Runtime     string `json:"onnxruntime"`
	Layers      int    `json:"layers"`
	Hidden      int    `json:"hidden_size"`
	ImageTokens int    `json:"image_tokens"`
	EmbedType   string `json:"embeds_type"`
	KVType      string `json:"kv_type"`
	PositionIDs bool   `json:"position_ids"`
	LoadMillis  int64  `json:"load_ms"`
}

func (m *Model) Info() Info {
	return Info{
		Name: m.Manifest.Name, Version: m.Manifest.Version, Demo: m.Manifest.Demo, Notice: m.Manifest.Notice,
		Dir: m.Dir, Device: m.Device.String(), Loop: m.Device.loop().String(), Runtime: RuntimeVersion(), Layers: m.Manifest.NumLayers,
		Hidden: m.Manifest.HiddenSize, ImageTokens: m.Manifest.ImageTokens,
		EmbedType: m.spec.embedType.String(), KVType: m.spec.kvType.String(), PositionIDs: m.spec.positionIDs,
		LoadMillis: m.loadTime.Milliseconds(),
	}
}

// Load reads and validates the bundle in dir and opens its sessions.
// InitRuntime must have been called.
func Load(dir string, d DeviceOptions) (*Model, error) {
	if !ort.IsInitialized() {
		return nil, errors.New("onnxruntime is not loaded (InitRuntime)")
	}
	start := time.Now()
	man, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	spec, err := validate(dir, man)
	if err != nil {
		return nil, fmt.Errorf("model bundle %s: %w", dir, err)
	}
	m := &Model{Dir: dir, Manifest: man, Device: d, spec: spec,
		Pre: NewPreprocessor(ImageParams{Size: man.ImageSize, Mean: man.ImageMean, Std: man.ImageStd})}
	if d.loop() == LoopBinding {
		m.bound, err = openBound(dir, man, d)
	} else {
		err = m.openRun(d)
	}
	if err != nil {
		return nil, err
	}
	if spec.probeVision {
		if err := m.probeVision(); err != nil {
			m.Close()
			return nil, fmt.Errorf("model bundle %s: %s: %w", dir, man.Files.Vision, err)
		}
	}
	m.loadTime = time.Since(start)
	return m, nil
}

// openRun opens the three graphs through onnxruntime_go (LoopRun).
func (m *Model) openRun(d DeviceOptions) error {
	opts, err := sessionOptions(d)
	if err != nil {
		return err
	}
	defer opts.Destroy()
	open := func(file string, in, out []string) (*ort.DynamicAdvancedSession, error) {
		s, err := ort.NewDynamicAdvancedSession(filepath.Join(m.Dir, file), in, out, opts)
		if err != nil {
			return nil, fmt.Errorf("model bundle %s: %s: %w", m.Dir, file, err)
		}
		return s, nil
	}
	man := m.Manifest
	if m.vision, err = open(man.Files.Vision, []string{"pixel_values"}, []string{"image_features"}); err != nil {
		return err
	}
	if m.embedding, err = open(man.Files.Embedding, []string{"input_ids"}, []string{"inputs_embeds"}); err != nil {
		m.Close()
		return err
	}
	if m.decoder, err = open(man.Files.Decoder, m.spec.decInputs, m.spec.decOutputs); err != nil {
		m.Close()
		return err
	}
	return nil
}

// probeVision runs the vision graph once on a blank image into an output of
// the shape model.json promises (the graph does not say how many features
// it makes; ONNX Runtime refuses an output of another shape), so a misfit
// shows at load and not on the first study.
func (m *Model) probeVision() error {
	man := m.Manifest
	loop, err := m.newLoop(context.Background(), 1, 1)
	if err != nil {
		return err
	}
	defer loop.release()
	dst := floatBuf(man.ImageTokens * man.HiddenSize * elemSize(m.spec.embedType))
	if err := loop.vision(make([]float32, 3*man.ImageSize*man.ImageSize), dst); err != nil {
		return fmt.Errorf("test run on a blank image, expecting image_features [1 %d %d] as model.json says (image.token_count, decoder.hidden_size): %w",
			man.ImageTokens, man.HiddenSize, err)
	}
	return nil
}

// Close releases the sessions (and the device memory of LoopBinding).
func (m *Model) Close() {
	for _, s := range []*ort.DynamicAdvancedSession{m.vision, m.embedding, m.decoder} {
		if s != nil {
			s.Destroy()
		}
	}
	m.vision, m.embedding, m.decoder = nil, nil, nil
	if m.bound != nil {
		m.bound.release()
		m.bound = nil
	}
}

// elemSize is the byte size of a float tensor element.
func elemSize(t ort.TensorElementDataType) int {
	if t == ort.TensorElementDataTypeFloat16 {
		return 2
	}
	return 4
}

// floatBuf allocates n bytes with float32 alignment.
func floatBuf(n int) []byte {
	f := make([]float32, (n+3)/4)
	if len(f) == 0 {
		f = make([]float32, 1)
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(f)*4)[:n]
}

// byteTensor wraps b (not copied) as a tensor of type t and shape s.
func byteTensor(t ort.TensorElementDataType, b []byte, s ...int64) (*ort.CustomDataTensor, error) {
	if len(b) == 0 {
		b = floatBuf(4) // ORT accepts a zero-element tensor over any buffer
	}
	return ort.NewCustomDataTensor(ort.NewShape(s...), b, t)
}

// f32ToF16 converts to IEEE half precision (round to nearest even).
func f32ToF16(f float32) uint16 {
	b := *(*uint32)(unsafe.Pointer(&f))
	sign := uint16(b>>16) & 0x8000
	exp := int((b>>23)&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case (b>>23)&0xff == 0xff: // inf/nan
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp >= 0x1f:
		return sign | 0x7c00
	case exp <= 0:
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		half := uint32(1) << (shift - 1)
		r := mant >> shift
		if rem := mant & (1<<shift - 1); rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(exp)<<10 | mant>>13
	if rem := mant & 0x1fff; rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++
	}
	return sign | uint16(r)
}

// f16ToF32 converts IEEE half precision to float32.
func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	var b uint32
	switch {
	case exp == 0 && mant == 0:
		b = sign
	case exp == 0:
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		b = sign | e<<23 | (mant&0x3ff)<<13
	case exp == 0x1f:
		b = sign | 0xff<<23 | mant<<13
	default:
		b = sign | (exp+127-15)<<23 | mant<<13
	}
	return *(*float32)(unsafe.Pointer(&b))
}

// runOptions gives a run that ctx can cut short (RunOptions.Terminate).
func runOptions(ctx context.Context) (*ort.RunOptions, func(), error) {
	ro, err := ort.NewRunOptions()
	if err != nil {
		return nil, nil, err
	}
	stop := terminateOnCancel(ctx, ro.Terminate)
	return ro, func() {
		stop()
		ro.Destroy()
	}, nil
}

// terminateOnCancel calls terminate when ctx ends, until the returned stop
// is called (after which terminate is never called, so the run options can
// be freed).
func terminateOnCancel(ctx context.Context, terminate func() error) (stop func()) {
	var mu sync.Mutex
	done := false
	unhook := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			terminate() //nolint:errcheck
		}
	})
	return func() {
		unhook()
		mu.Lock()
		done = true
		mu.Unlock()
	}
}
