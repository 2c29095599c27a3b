package scp

import (
	"io"

	"github.com/radraft/radraft/dicom/dimse"
	"github.com/radraft/radraft/dicom/ul"
)

// Service answers one kind of DIMSE request (C-ECHO, C-STORE; later
// C-FIND). The association loop reads the command, hands it over with its
// dataset as a stream, and drains whatever the service leaves unread.
type Service interface {
	// Serve answers m through w (once, or several times for a service with
	// pending responses). An error ends the association: an *AbortError
	// aborts it, anything else is a transport failure already handled by
	// the upper layer.
	Serve(m *Message, w Responder) error
}

// Message is one received DIMSE request.
type Message struct {
	Command   *dimse.Command
	ContextID byte
	Context   ul.AcceptedContext
	Origin    Origin
	// Dataset streams the request's dataset (empty when it has none).
	Dataset io.Reader
}

// Responder sends responses on the request's presentation context.
type Responder interface {
	Respond(rsp *dimse.Command) error
	// RespondWithDataset sends rsp followed by its dataset (C-FIND's pending
	// matches), encoded in the context's transfer syntax.
	RespondWithDataset(rsp *dimse.Command, dataset []byte) error
}

// AbortError is a violation of PS3.7 found above the upper layer (a
// dataset without a command, interleaved fragments, an undecodable
// command set): the association is aborted.
type AbortError struct{ Why string }

func (e *AbortError) Error() string { return e.Why }
