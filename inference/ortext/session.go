package ortext

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"sort"
	"unsafe"
)

// SessionOptions configure a Session.
type SessionOptions struct{ o *C.OrtSessionOptions }

// NewSessionOptions makes options with every graph optimisation on and
// intraOpThreads threads for the CPU provider (0 = the runtime's default).
func NewSessionOptions(intraOpThreads int) (*SessionOptions, error) {
	if !Initialized() {
		return nil, errors.New("ortext: not initialised")
	}
	o := &SessionOptions{}
	if err := statusErr(C.ortx_create_session_options(&o.o)); err != nil {
		return nil, err
	}
	err := statusErr(C.ortx_set_opt_all(o.o))
	if err == nil && intraOpThreads > 0 {
		err = statusErr(C.ortx_set_intra_threads(o.o, C.int(intraOpThreads)))
	}
	if err != nil {
		o.Release()
		return nil, err
	}
	return o, nil
}

// AppendEP adds the execution provider of d (SessionOptionsAppendExecutionProvider_V2)
// with the given provider options.
func (o *SessionOptions) AppendEP(d EpDevice, options map[string]string) error {
	keys := make([]string, 0, len(options))
	for k := range options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ck := make([]*C.char, len(keys)+1) // +1: never a zero-length slice to index
	cv := make([]*C.char, len(keys)+1)
	for i, k := range keys {
		ck[i], cv[i] = C.CString(k), C.CString(options[k])
	}
	defer func() {
		for i := range keys {
			C.free(unsafe.Pointer(ck[i]))
			C.free(unsafe.Pointer(cv[i]))
		}
	}()
	return statusErr(C.ortx_append_ep_v2(o.o, d.d, &ck[0], &cv[0], C.size_t(len(keys))))
}

// Release frees the options (sessions made from them keep working).
func (o *SessionOptions) Release() {
	if o.o != nil {
		C.ortx_release_session_options(o.o)
		o.o = nil
	}
}

// Session is one loaded ONNX graph, run through Bindings.
type Session struct{ s *C.OrtSession }

// NewSession loads the model file at path.
func NewSession(path string, o *SessionOptions) (*Session, error) {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	s := &Session{}
	if err := statusErr(C.ortx_create_session(cp, o.o, &s.s)); err != nil {
		return nil, err
	}
	return s, nil
}

// Release unloads the session.
func (s *Session) Release() {
	if s != nil && s.s != nil {
		C.ortx_release_session(s.s)
		s.s = nil
	}
}

// Run runs the session on what b binds; ro may be nil.
func (s *Session) Run(b *Binding, ro *RunOptions) error {
	var r *C.OrtRunOptions
	if ro != nil {
		r = ro.r
	}
	return statusErr(C.ortx_run_binding(s.s, r, b.b))
}

// RunOptions let a run be cut short from another goroutine.
type RunOptions struct{ r *C.OrtRunOptions }

// NewRunOptions makes run options.
func NewRunOptions() (*RunOptions, error) {
	ro := &RunOptions{}
	if err := statusErr(C.ortx_create_run_options(&ro.r)); err != nil {
		return nil, err
	}
	return ro, nil
}

// Terminate makes runs using ro stop as soon as they can, with an error.
func (ro *RunOptions) Terminate() error { return statusErr(C.ortx_terminate(ro.r)) }

// Release frees ro.
func (ro *RunOptions) Release() {
	if ro.r != nil {
		C.ortx_release_run_options(ro.r)
		ro.r = nil
	}
}
