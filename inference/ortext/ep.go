package ortext

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"unsafe"
)

// EpDevice is one (execution provider, hardware device) pair the runtime
// offers: the CPU provider's CPU always, and for each registered plugin EP
// library the devices it found (CUDA: one per visible GPU).
type EpDevice struct {
	EP       string `json:"ep"`        // e.g. CPUExecutionProvider, CUDAExecutionProvider
	EPVendor string `json:"ep_vendor"` // e.g. Microsoft
	Hardware string `json:"hardware"`  // cpu, gpu or npu
	Vendor   string `json:"vendor"`    // hardware vendor name
	VendorID uint32 `json:"vendor_id"` // PCI vendor id (0x10de = NVIDIA)
	DeviceID uint32 `json:"device_id"` // PCI device id
	d        *C.OrtEpDevice
}

// EpDevices lists the runtime's EP devices, in the runtime's order.
func EpDevices() ([]EpDevice, error) {
	if !Initialized() {
		return nil, errors.New("ortext: not initialised")
	}
	var arr **C.OrtEpDevice
	var n C.size_t
	if err := statusErr(C.ortx_get_ep_devices((***C.OrtEpDevice)(unsafe.Pointer(&arr)), &n)); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	out := make([]EpDevice, 0, int(n))
	for _, d := range unsafe.Slice(arr, int(n)) {
		out = append(out, EpDevice{
			EP:       C.GoString(C.ortx_ep_name(d)),
			EPVendor: C.GoString(C.ortx_ep_vendor(d)),
			Hardware: [...]string{"cpu", "gpu", "npu"}[min(int(C.ortx_hw_type(d)), 2)],
			Vendor:   C.GoString(C.ortx_hw_vendor(d)),
			VendorID: uint32(C.ortx_hw_vendor_id(d)),
			DeviceID: uint32(C.ortx_hw_device_id(d)),
			d:        d,
		})
	}
	return out, nil
}

// Memory is the device memory of d's execution provider, or nil when the
// provider works in CPU memory. It belongs to the runtime (never released).
func (d EpDevice) Memory() *MemoryInfo {
	m := C.ortx_ep_memory(d.d)
	if m == nil {
		return nil
	}
	return &MemoryInfo{m: (*C.OrtMemoryInfo)(unsafe.Pointer(m)), device: true}
}

// Loadable says whether the dynamic loader finds and loads the shared
// library name (searched as dlopen searches: LD_LIBRARY_PATH, the loader
// cache, the system directories); the error is the loader's.
func Loadable(name string) error {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	if msg := C.ortx_loadable(cn); msg != nil {
		return errors.New(C.GoString(msg))
	}
	return nil
}
