package ortext

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"runtime"
	"unsafe"
)

// MemoryInfo says where a tensor's bytes live: host memory (CPUMemory) or
// an execution provider's device memory (EpDevice.Memory).
type MemoryInfo struct {
	m      *C.OrtMemoryInfo
	device bool
	owned  bool
}

// CPUMemory is host memory.
func CPUMemory() (*MemoryInfo, error) {
	mi := &MemoryInfo{owned: true}
	if err := statusErr(C.ortx_create_cpu_memory(&mi.m)); err != nil {
		return nil, err
	}
	return mi, nil
}

// OnDevice says whether the memory is not host memory.
func (mi *MemoryInfo) OnDevice() bool { return mi.device }

// Release frees a MemoryInfo this package created.
func (mi *MemoryInfo) Release() {
	if mi.owned && mi.m != nil {
		C.ortx_release_memory(mi.m)
		mi.m = nil
	}
}

// Allocator hands out raw blocks of mi's memory.
type Allocator struct {
	a   *C.OrtAllocator
	Mem *MemoryInfo
}

// NewAllocator is the runtime's allocator for mi: the default (host)
// allocator for host memory, the EP's shared allocator for device memory.
func NewAllocator(mi *MemoryInfo) (*Allocator, error) {
	a := &Allocator{Mem: mi}
	var err error
	if mi.device {
		err = statusErr(C.ortx_shared_allocator(mi.m, &a.a))
	} else {
		err = statusErr(C.ortx_default_allocator(&a.a))
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Alloc returns n bytes of the allocator's memory (not zeroed).
func (a *Allocator) Alloc(n int) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	if err := statusErr(C.ortx_alloc(a.a, C.size_t(max(n, 1)), &p)); err != nil {
		return nil, err
	}
	return p, nil
}

// Free returns a block from Alloc.
func (a *Allocator) Free(p unsafe.Pointer) error { return statusErr(C.ortx_free(a.a, p)) }

// Value is a tensor over memory the caller owns (host or device); the
// memory must outlive the Value. Host memory from Go is pinned while the
// Value lives.
type Value struct {
	v      *C.OrtValue
	pin    runtime.Pinner
	p      unsafe.Pointer
	n      int
	device bool
}

// NewTensor wraps nbytes at p, in mi's memory, as a tensor of the given
// ONNX element type (ONNXTensorElementDataType: 1 float, 7 int64, 10
// float16) and shape. The bytes are neither copied nor freed.
func NewTensor(mi *MemoryInfo, p unsafe.Pointer, nbytes int, elemType int, shape ...int64) (*Value, error) {
	v := &Value{p: p, n: nbytes, device: mi.device}
	if !mi.device {
		v.pin.Pin(p) // does nothing for C memory
	}
	sh := make([]C.int64_t, len(shape)+1)
	for i, d := range shape {
		sh[i] = C.int64_t(d)
	}
	if err := statusErr(C.ortx_create_tensor(mi.m, p, C.size_t(nbytes), &sh[0], C.size_t(len(shape)), C.int(elemType), &v.v)); err != nil {
		v.pin.Unpin()
		return nil, err
	}
	return v, nil
}

// Release frees the tensor header (not its memory) and unpins it.
func (v *Value) Release() {
	if v != nil && v.v != nil {
		C.ortx_release_value(v.v)
		v.v = nil
		v.pin.Unpin()
	}
}

// CopyTensor copies src's bytes into dst (same shape and type; either may
// be on the device) with the runtime's data transfer for the two devices
// (CopyTensors), synchronously. Host to host is a plain copy: the runtime
// registers no data transfer for it.
func CopyTensor(src, dst *Value) error {
	if !src.device && !dst.device {
		if src.n != dst.n {
			return errors.New("ortext: CopyTensor between tensors of different sizes")
		}
		copy(unsafe.Slice((*byte)(dst.p), dst.n), unsafe.Slice((*byte)(src.p), src.n))
		return nil
	}
	return statusErr(C.ortx_copy_tensor(src.v, dst.v))
}

// Binding ties a session's inputs and outputs to Values for Session.Run.
// Values bound must live until the run returns.
type Binding struct {
	b     *C.OrtIoBinding
	names map[string]*C.char
}

// NewBinding makes an empty binding for s.
func (s *Session) NewBinding() (*Binding, error) {
	b := &Binding{names: map[string]*C.char{}}
	if err := statusErr(C.ortx_create_binding(s.s, &b.b)); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Binding) name(s string) *C.char {
	c, ok := b.names[s]
	if !ok {
		c = C.CString(s)
		b.names[s] = c
	}
	return c
}

// Input binds the named input to v.
func (b *Binding) Input(name string, v *Value) error {
	return statusErr(C.ortx_bind_input(b.b, b.name(name), v.v))
}

// Output binds the named output to v: the run writes into v's memory.
func (b *Binding) Output(name string, v *Value) error {
	return statusErr(C.ortx_bind_output(b.b, b.name(name), v.v))
}

// OutputToDevice lets the run allocate the named output in mi's memory.
func (b *Binding) OutputToDevice(name string, mi *MemoryInfo) error {
	return statusErr(C.ortx_bind_output_to_device(b.b, b.name(name), mi.m))
}

// Clear unbinds every input and output.
func (b *Binding) Clear() { C.ortx_clear_binding(b.b) }

// SyncOutputs waits until the outputs of the last run are written (device
// providers may return before their kernels finish).
func (b *Binding) SyncOutputs() error { return statusErr(C.ortx_sync_outputs(b.b)) }

// Release frees the binding.
func (b *Binding) Release() {
	if b == nil || b.b == nil {
		return
	}
	C.ortx_release_binding(b.b)
	b.b = nil
	for _, c := range b.names {
		C.free(unsafe.Pointer(c))
	}
	b.names = nil
}
