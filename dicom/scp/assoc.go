package scp

import (
	"errors"
	"io"
	"time"

	"github.com/radraft/radraft/dicom/dimse"
	"github.com/radraft/radraft/dicom/ul"
)

// assoc is the DIMSE message loop of one established association (Sta6):
// it reads each request's command set, hands it and its dataset stream to
// the Service registered for its command field, and counts the outcome.
// Every PDU is read and written by the upper layer (ul.Association).
type assoc struct {
	s         *Server
	a         *ul.Association
	callingAE string
	remote    string
	stored    int
	failed    int
}

func (a *assoc) run() {
	start := time.Now()
	defer func() {
		a.s.log.Info("dicom: association ended", "calling_ae", a.callingAE, "remote", a.remote,
			"stored", a.stored, "failed", a.failed, "duration", time.Since(start).Round(time.Millisecond))
	}()
	for {
		pdv, err := a.a.NextPDV(true)
		if err == nil {
			err = a.message(pdv)
		}
		if err != nil {
			a.end(err)
			return
		}
	}
}

// end finishes the association after err. The upper layer has already
// taken its action for what it saw (A-ABORT sent, transport closed); what
// is left are the local user's answers: release, or abort.
func (a *assoc) end(err error) {
	var ae *AbortError
	var pe *ul.ProtocolError
	switch {
	case errors.Is(err, ul.ErrReleaseRQ):
		a.a.Release() //nolint:errcheck // the peer may have gone; nothing left to do
	case errors.As(err, &ae):
		a.s.log.Warn("dicom: aborting association", "calling_ae", a.callingAE, "remote", a.remote, "why", ae.Why)
		a.a.Abort()
	case errors.As(err, &pe):
		a.s.log.Warn("dicom: association aborted: protocol violation", "calling_ae", a.callingAE, "remote", a.remote,
			"reason", pe.Reason, "why", pe.Msg)
	case errors.Is(err, ul.ErrPeerAborted):
		a.s.log.Info("dicom: peer aborted", "calling_ae", a.callingAE, "remote", a.remote)
	case errors.Is(err, ul.ErrInterrupted):
		a.s.log.Info("dicom: association aborted: server shutting down", "calling_ae", a.callingAE, "remote", a.remote)
	case errors.Is(err, ul.ErrTimeout):
		a.s.log.Warn("dicom: association aborted: timeout", "calling_ae", a.callingAE, "remote", a.remote)
	case errors.Is(err, ul.ErrTransportClosed):
		a.s.log.Info("dicom: peer closed the connection without release", "calling_ae", a.callingAE, "remote", a.remote)
	default:
		a.s.log.Warn("dicom: association failed", "calling_ae", a.callingAE, "remote", a.remote, "err", err)
		a.a.Close()
	}
}

// message receives one DIMSE request whose first PDV is pdv and has it
// served.
func (a *assoc) message(pdv ul.PDV) error {
	if !pdv.Command() {
		return &AbortError{"dataset PDV without a command"}
	}
	ctxID := pdv.ContextID
	var cmdBuf []byte
	for {
		if len(cmdBuf)+pdv.Length > dimse.MaxCommandSize {
			return &AbortError{"command set too long"}
		}
		n := len(cmdBuf)
		cmdBuf = append(cmdBuf, make([]byte, pdv.Length)...)
		if _, err := io.ReadFull(a.a, cmdBuf[n:]); err != nil {
			return err
		}
		if pdv.Last() {
			break
		}
		var err error
		if pdv, err = a.a.NextPDV(false); err != nil {
			return midMessage(err)
		}
		if !pdv.Command() || pdv.ContextID != ctxID {
			return &AbortError{"command fragments interleaved"}
		}
	}
	cmd, err := dimse.Decode(cmdBuf)
	if err != nil {
		return &AbortError{err.Error()}
	}
	m := &Message{
		Command: cmd, ContextID: ctxID, Context: a.a.Contexts[ctxID],
		Origin:  Origin{CallingAE: a.callingAE, RemoteAddr: a.remote},
		Dataset: &datasetReader{a: a.a, ctxID: ctxID, done: !cmd.HasDataSet()},
	}
	w := &responder{assoc: a, m: m}
	svc, ok := a.s.services[cmd.Field]
	if !ok {
		err = w.Respond(dimse.Response(cmd, dimse.StatusUnrecognizedOperation, "operation not supported"))
	} else {
		err = svc.Serve(m, w)
	}
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, m.Dataset)
	return err
}

// midMessage turns a release arriving inside a message into an abort.
func midMessage(err error) error {
	if errors.Is(err, ul.ErrReleaseRQ) {
		return &AbortError{"A-RELEASE-RQ inside a message"}
	}
	return err
}

// datasetReader streams the dataset PDVs of one request.
type datasetReader struct {
	a     *ul.Association
	ctxID byte
	inPDV bool
	last  bool
	done  bool
}

func (r *datasetReader) Read(p []byte) (int, error) {
	for !r.done {
		if r.inPDV {
			n, err := r.a.Read(p)
			if err == io.EOF {
				r.inPDV = false
				r.done = r.last
				if n > 0 {
					return n, nil
				}
				continue
			}
			return n, err
		}
		pdv, err := r.a.NextPDV(false)
		if err != nil {
			return 0, midMessage(err)
		}
		if pdv.Command() || pdv.ContextID != r.ctxID {
			return 0, &AbortError{"dataset fragments interleaved"}
		}
		r.inPDV, r.last = true, pdv.Last()
	}
	return 0, io.EOF
}

// responder sends a request's responses, each only once the request's
// dataset has been read whole, and counts stored and failed instances.
type responder struct {
	*assoc
	m *Message
}

func (w *responder) RespondWithDataset(rsp *dimse.Command, dataset []byte) error {
	if err := w.Respond(rsp); err != nil {
		return err
	}
	return w.a.Send(w.m.ContextID, false, dataset)
}

func (w *responder) Respond(rsp *dimse.Command) error {
	if _, err := io.Copy(io.Discard, w.m.Dataset); err != nil {
		return err
	}
	if w.m.Command.Field == dimse.CStoreRQ {
		if rsp.Status == dimse.StatusSuccess {
			w.stored++
		} else {
			w.failed++
			w.s.log.Warn("dicom: C-STORE failed", "calling_ae", w.callingAE, "remote", w.remote,
				"status", statusHex(rsp.Status), "why", rsp.ErrorComment)
		}
	}
	return w.a.Send(w.m.ContextID, true, rsp.Encode())
}

func statusHex(s uint16) string {
	const hexd = "0123456789ABCDEF"
	return string([]byte{hexd[s>>12], hexd[s>>8&15], hexd[s>>4&15], hexd[s&15]})
}
