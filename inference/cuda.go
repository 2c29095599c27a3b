package inference

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/radraft/radraft/inference/ortext"
)

// CUDAProviderLibrary is the CUDA plugin execution provider's file name;
// radraft loads it from the directory of the core library
// (scripts/fetch-onnxruntime.sh --gpu puts both there).
const CUDAProviderLibrary = "libonnxruntime_providers_cuda.so"

// CUDAEP is the CUDA provider's name in the runtime's EP device list.
const CUDAEP = "CUDAExecutionProvider"

// cudaDependencies are the libraries the CUDA provider (ONNX Runtime 1.29,
// CUDA 13 build) needs at run time, in the order they are checked, each
// with what its absence means. The driver comes first: without it the rest
// cannot help. cuDNN is loaded by the provider lazily, so a missing cuDNN
// would otherwise show only at the first convolution.
var cudaDependencies = []struct{ lib, missing string }{
	{"libcuda.so.1", "cuda: no NVIDIA driver (libcuda.so.1 not found)"},
	{"libcudart.so.13", "cuda: libcudart.so.13 not found (install the CUDA 13 runtime)"},
	{"libcublas.so.13", "cuda: libcublas.so.13 not found (install CUDA 13 cuBLAS)"},
	{"libcublasLt.so.13", "cuda: libcublasLt.so.13 not found (install CUDA 13 cuBLAS)"},
	{"libcurand.so.10", "cuda: libcurand.so.10 not found (install CUDA 13 cuRAND)"},
	{"libcudnn.so.9", "cuda: libcudnn.so.9 not found (install cuDNN 9 for CUDA 13)"},
}

const noCUDADevice = "cuda: no CUDA device (the driver and libraries load, but the CUDA provider sees no GPU)"

// ErrCUDA marks a CUDA device that cannot be used on this machine; its
// message is one line naming what is missing.
var ErrCUDA = errors.New("cuda unavailable")

type cudaError struct{ msg string }

func (e *cudaError) Error() string        { return e.msg }
func (e *cudaError) Is(target error) bool { return target == ErrCUDA }

var (
	cudaOnce sync.Once
	cudaErr  error
)

// registerCUDA loads the CUDA provider beside the loaded core library into
// the runtime, once per process, after checking that what it needs is
// there. Every failure is an ErrCUDA with one line saying what is missing.
func registerCUDA() error {
	cudaOnce.Do(func() {
		core := RuntimePath()
		if core == "" {
			cudaErr = errors.New("onnxruntime is not loaded (InitRuntime)")
			return
		}
		lib := filepath.Join(filepath.Dir(core), CUDAProviderLibrary)
		if _, err := os.Stat(lib); err != nil {
			cudaErr = &cudaError{fmt.Sprintf("cuda: provider library not found: run scripts/fetch-onnxruntime.sh --gpu and set RADRAFT_ORT_LIB to the path it prints (no %s beside %s)", CUDAProviderLibrary, core)}
			return
		}
		for _, d := range cudaDependencies {
			if ortext.Loadable(d.lib) != nil {
				cudaErr = &cudaError{d.missing}
				return
			}
		}
		if err := ort.RegisterExecutionProviderLibrary("CUDA", lib); err != nil {
			cudaErr = &cudaError{fmt.Sprintf("cuda: the provider %s does not load into onnxruntime %s: %s", lib, RuntimeVersion(), oneLine(err.Error()))}
		}
	})
	return cudaErr
}

// cudaDevice registers the CUDA provider and returns the EP device of GPU
// d.DeviceID (the N of cuda:N, counting the provider's devices in order).
func cudaDevice(d DeviceOptions) (ortext.EpDevice, error) {
	if err := registerCUDA(); err != nil {
		return ortext.EpDevice{}, err
	}
	devs, err := ortext.EpDevices()
	if err != nil {
		return ortext.EpDevice{}, fmt.Errorf("cuda: listing devices: %w", err)
	}
	var gpus []ortext.EpDevice
	for _, e := range devs {
		if e.EP == CUDAEP {
			gpus = append(gpus, e)
		}
	}
	switch {
	case len(gpus) == 0:
		return ortext.EpDevice{}, &cudaError{noCUDADevice}
	case d.DeviceID >= len(gpus):
		return ortext.EpDevice{}, &cudaError{fmt.Sprintf("cuda:%d: no such device (%d CUDA device(s): cuda:0..cuda:%d)", d.DeviceID, len(gpus), len(gpus)-1)}
	}
	return gpus[d.DeviceID], nil
}

// RuntimeReport is what `radraft model runtime` tells: the loaded runtime,
// its execution providers and their devices, and whether CUDA is usable.
type RuntimeReport struct {
	Path      string            `json:"path"`
	Version   string            `json:"version"`
	Providers []string          `json:"execution_providers"`
	Devices   []ortext.EpDevice `json:"ep_devices"`
	// CUDA is "ok", or the one line saying why the CUDA provider is unusable.
	CUDA string `json:"cuda"`
}

// Report describes the loaded runtime. It tries to register the CUDA
// provider (when its library is beside the core library) so that its
// devices show.
func Report() (*RuntimeReport, error) {
	r := &RuntimeReport{Path: RuntimePath(), Version: RuntimeVersion(), CUDA: "ok"}
	if err := registerCUDA(); err != nil {
		r.CUDA = err.Error()
	}
	devs, err := ortext.EpDevices()
	if err != nil {
		return nil, err
	}
	r.Devices = devs
	seen := map[string]bool{}
	for _, d := range devs {
		if !seen[d.EP] {
			seen[d.EP] = true
			r.Providers = append(r.Providers, d.EP)
		}
	}
	if r.CUDA == "ok" && !seen[CUDAEP] {
		r.CUDA = noCUDADevice
	}
	return r, nil
}

// oneLine keeps the first line of a message.
func oneLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
