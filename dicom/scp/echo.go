package scp

import "github.com/radraft/radraft/dicom/dimse"

// echoService is the Verification SCP: C-ECHO is answered with success.
type echoService struct{}

func (echoService) Serve(m *Message, w Responder) error {
	return w.Respond(dimse.Response(m.Command, dimse.StatusSuccess, ""))
}
