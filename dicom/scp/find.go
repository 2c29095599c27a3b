package scp

import (
	"context"

	"github.com/radraft/radraft/dicom/cfind"
	"github.com/radraft/radraft/dicom/dimse"
)

// findService is the Study Root Query/Retrieve Information Model FIND SCP
// at the STUDY and SERIES levels: the identifier is decoded by dicom/cfind,
// matched by the configured Finder (the index), and every match goes back
// as a pending response with its identifier, then a final success. A
// workstation queries radraft as it queries a PACS.
type findService struct{ s *Server }

func (f findService) Serve(m *Message, w Responder) error {
	cmd := m.Command
	fail := func(status uint16, why string) error {
		f.s.log.Warn("dicom: C-FIND failed", "calling_ae", m.Origin.CallingAE, "status", statusHex(status), "why", why)
		return w.Respond(dimse.Response(cmd, status, why))
	}
	if m.Context.AbstractSyntax != cfind.StudyRootFind {
		// C-FIND on another SOP class's context (Verification, storage):
		// the operation does not exist there, as without a Finder.
		return w.Respond(dimse.Response(cmd, dimse.StatusUnrecognizedOperation, "operation not supported"))
	}
	if cmd.AffectedSOPClass != cfind.StudyRootFind {
		return fail(dimse.StatusSOPClassNotSupported, "SOP class differs from the presentation context")
	}
	if !cmd.HasDataSet() {
		return fail(cfind.StatusUnableToProcess, "C-FIND without an identifier")
	}
	req, err := cfind.Decode(m.Dataset, m.Context.TransferSyntax)
	if err != nil {
		return fail(cfind.Status(err), err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.s.cfg.IndexTimeout)
	defer cancel()
	matches, err := f.s.cfg.Finder.Find(ctx, req.Query)
	if err != nil {
		f.s.log.Error("dicom: C-FIND: index unavailable", "err", err)
		return fail(cfind.StatusOutOfResources, "index unavailable")
	}
	for _, r := range matches {
		id, err := req.Encode(r, m.Context.TransferSyntax)
		if err != nil {
			return fail(cfind.StatusUnableToProcess, "a match cannot be encoded")
		}
		rsp := dimse.Response(cmd, cfind.StatusPending, "")
		rsp.DataSetType = 0x0000 // an identifier follows
		if err := w.RespondWithDataset(rsp, id); err != nil {
			return err
		}
	}
	return w.Respond(dimse.Response(cmd, cfind.StatusSuccess, ""))
}
