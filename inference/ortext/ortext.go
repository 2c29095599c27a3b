// Package ortext is radraft's own thin cgo layer over the ONNX Runtime C API
// for what github.com/yalue/onnxruntime_go (v1.27) does not expose and the
// device path needs: the execution-provider devices of plugin EPs
// (GetEpDevices) and SessionOptionsAppendExecutionProvider_V2, device memory
// info (EpDevice_MemoryInfo) and its shared allocator, tensors over memory we
// allocated on the device, IoBinding of such tensors (BindInput/BindOutput,
// BindOutputToDevice), and CopyTensors to bring a slice of device memory back.
//
// Why it is ours: onnxruntime_go has none of these, and no upstream
// contribution adding them has landed in a release; when one does, this
// package should shrink to nothing.
//
// It loads nothing itself. Init takes the OrtApi table (C API version
// ORT_API_VERSION of the header, 24) from the libonnxruntime that
// onnxruntime_go already loaded (dlopen with RTLD_NOLOAD on the same path),
// and the process's OrtEnv (CreateEnv returns the existing singleton), so
// execution-provider libraries registered through onnxruntime_go are seen
// here. Version 24 is offered by every runtime from 1.24 on; radraft runs on
// 1.29 (the asus4 core build the CUDA plugin loads into) and 1.30
// (onnxruntime-node's CPU build).
//
// onnxruntime_c_api.h and onnxruntime_ep_c_api.h are byte-for-byte copies of
// the headers in the onnxruntime_go module (a test checks it); refresh them
// with `go generate` when onnxruntime_go is upgraded.
package ortext

//go:generate sh -c "cp $(go list -m -f '{{.Dir}}' github.com/yalue/onnxruntime_go)/onnxruntime_c_api.h $(go list -m -f '{{.Dir}}' github.com/yalue/onnxruntime_go)/onnxruntime_ep_c_api.h . && chmod 644 onnxruntime_c_api.h onnxruntime_ep_c_api.h"

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"sync"
	"unsafe"
)

var (
	initMu   sync.Mutex
	initPath string
)

// Init binds the package to the libonnxruntime at path, which
// onnxruntime_go must already have loaded (ort.InitializeEnvironment).
// Calling it again with the same path is a no-op.
func Init(path string) error {
	initMu.Lock()
	defer initMu.Unlock()
	if initPath != "" {
		if initPath != path {
			return errors.New("ortext: already bound to " + initPath)
		}
		return nil
	}
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	if msg := C.ortx_init(cp); msg != nil {
		return errors.New("ortext: " + path + ": " + C.GoString(msg))
	}
	initPath = path
	return nil
}

// Initialized says whether Init succeeded.
func Initialized() bool {
	initMu.Lock()
	defer initMu.Unlock()
	return initPath != ""
}

// statusErr turns an OrtStatus into an error (nil for success), releasing it.
func statusErr(s *C.OrtStatus) error {
	if s == nil {
		return nil
	}
	msg := C.GoString(C.ortx_status_message(s))
	C.ortx_release_status(s)
	return errors.New(msg)
}
