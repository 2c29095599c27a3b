package scp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/radraft/radraft/dicom/dimse"
	"github.com/radraft/radraft/dicom/ul"
	"github.com/radraft/radraft/drafts"
)

type ctxInfo struct{ abstract, ts string }

// assoc is one established association (Sta6).
type assoc struct {
	s         *Server
	c         *ul.Conn
	callingAE string
	remote    string
	contexts  map[byte]ctxInfo
	buf       []byte
	stored    int
	failed    int
}

// errAbort carries a protocol violation found above the upper layer.
type errAbort struct {
	reason byte
	why    string
}

func (e *errAbort) Error() string { return e.why }

func (a *assoc) run() {
	start := time.Now()
	defer func() {
		a.s.log.Info("dicom: association ended", "calling_ae", a.callingAE, "remote", a.remote,
			"stored", a.stored, "failed", a.failed, "duration", time.Since(start).Round(time.Millisecond))
	}()
	for {
		if a.c.Interrupted() {
			a.s.abort(a.c, a.remote, ul.AbortNotSpecified, "server shutting down")
			return
		}
		a.c.SetReadTimeout(a.s.cfg.IdleTimeout, true)
		pdv, err := a.c.NextPDV()
		a.c.SetReadTimeout(a.s.cfg.ReadTimeout, false)
		if err == nil {
			err = a.message(pdv)
		}
		if err != nil {
			a.end(err)
			return
		}
	}
}

// end finishes the association after err.
func (a *assoc) end(err error) {
	var pe *ul.ProtocolError
	var ea *errAbort
	var ne net.Error
	switch {
	case errors.Is(err, ul.ErrReleaseRQ):
		if a.c.WritePDU(ul.EncodeRelease(ul.TypeReleaseRP)) == nil {
			a.c.AwaitClose(a.s.cfg.ARTIM)
		} else {
			a.c.Close()
		}
	case errors.Is(err, ul.ErrPeerAborted):
		a.s.log.Info("dicom: peer aborted", "calling_ae", a.callingAE, "remote", a.remote)
		a.c.Close()
	case errors.As(err, &pe):
		a.s.abort(a.c, a.remote, pe.Reason, pe.Msg)
	case errors.As(err, &ea):
		a.s.abort(a.c, a.remote, ea.reason, ea.why)
	case errors.Is(err, ul.ErrInterrupted):
		a.s.abort(a.c, a.remote, ul.AbortNotSpecified, "server shutting down")
	case errors.As(err, &ne) && ne.Timeout():
		a.s.abort(a.c, a.remote, ul.AbortNotSpecified, "timeout")
	case errors.Is(err, io.EOF):
		a.s.log.Info("dicom: peer closed the connection without release", "calling_ae", a.callingAE, "remote", a.remote)
		a.c.Close()
	default:
		a.s.log.Warn("dicom: association failed", "calling_ae", a.callingAE, "remote", a.remote, "err", err)
		a.c.Close()
	}
}

// message receives one DIMSE message whose first PDV is pdv and answers it.
func (a *assoc) message(pdv ul.PDV) error {
	if !pdv.Command() {
		return &errAbort{ul.AbortUnexpectedParam, "dataset PDV without a command"}
	}
	ctxID := pdv.ContextID
	pc, ok := a.contexts[ctxID]
	if !ok {
		return &errAbort{ul.AbortInvalidParam, "PDV on a presentation context not accepted"}
	}
	var cmdBuf []byte
	for {
		if len(cmdBuf)+pdv.Length > dimse.MaxCommandSize {
			return &errAbort{ul.AbortInvalidParam, "command set too long"}
		}
		n := len(cmdBuf)
		cmdBuf = append(cmdBuf, make([]byte, pdv.Length)...)
		if _, err := io.ReadFull(a.c, cmdBuf[n:]); err != nil {
			return err
		}
		if pdv.Last() {
			break
		}
		var err error
		if pdv, err = a.c.NextPDV(); err != nil {
			return midMessage(err)
		}
		if !pdv.Command() || pdv.ContextID != ctxID {
			return &errAbort{ul.AbortUnexpectedParam, "command fragments interleaved"}
		}
	}
	cmd, err := dimse.Decode(cmdBuf)
	if err != nil {
		return &errAbort{ul.AbortInvalidParam, err.Error()}
	}
	switch cmd.Field {
	case dimse.CEchoRQ:
		if err := a.drainIf(cmd, ctxID); err != nil {
			return err
		}
		return a.respond(ctxID, dimse.Response(cmd, dimse.StatusSuccess, ""))
	case dimse.CStoreRQ:
		return a.store(cmd, ctxID, pc)
	default:
		if err := a.drainIf(cmd, ctxID); err != nil {
			return err
		}
		return a.respond(ctxID, dimse.Response(cmd, dimse.StatusUnrecognizedOperation, "operation not supported"))
	}
}

// midMessage turns a release or abort arriving inside a message into an
// error that ends the association.
func midMessage(err error) error {
	if errors.Is(err, ul.ErrReleaseRQ) {
		return &errAbort{ul.AbortUnexpectedPDU, "A-RELEASE-RQ inside a message"}
	}
	return err
}

func (a *assoc) respond(ctxID byte, rsp *dimse.Command) error {
	return a.c.WriteFragments(ctxID, true, rsp.Encode())
}

func (a *assoc) drainIf(cmd *dimse.Command, ctxID byte) error {
	if !cmd.HasDataSet() {
		return nil
	}
	return a.readDataset(ctxID, io.Discard)
}

// readDataset streams the dataset fragments of context ctxID into w.
func (a *assoc) readDataset(ctxID byte, w io.Writer) error {
	for {
		pdv, err := a.c.NextPDV()
		if err != nil {
			return midMessage(err)
		}
		if pdv.Command() || pdv.ContextID != ctxID {
			return &errAbort{ul.AbortUnexpectedParam, "dataset fragments interleaved"}
		}
		for left := pdv.Length; left > 0; {
			n, err := a.c.Read(a.buf[:min(left, len(a.buf))])
			if n > 0 {
				w.Write(a.buf[:n]) //nolint:errcheck // incoming keeps its own error
			}
			if err != nil {
				return err
			}
			left -= n
		}
		if pdv.Last() {
			return nil
		}
	}
}

// store receives a C-STORE dataset into the storage and answers it.
func (a *assoc) store(cmd *dimse.Command, ctxID byte, pc ctxInfo) error {
	fail := func(status uint16, comment string) error {
		a.failed++
		a.s.log.Warn("dicom: C-STORE failed", "calling_ae", a.callingAE, "remote", a.remote,
			"status", statusHex(status), "why", comment)
		return a.respond(ctxID, dimse.Response(cmd, status, comment))
	}
	if !cmd.HasDataSet() {
		return fail(dimse.StatusMistypedArgument, "C-STORE without a dataset")
	}
	if cmd.AffectedSOPClass != pc.abstract {
		if err := a.readDataset(ctxID, io.Discard); err != nil {
			return err
		}
		return fail(dimse.StatusSOPClassNotSupported, "SOP class differs from the presentation context")
	}
	if !pathSafe(cmd.AffectedSOPInst) {
		if err := a.readDataset(ctxID, io.Discard); err != nil {
			return err
		}
		return fail(dimse.StatusCannotUnderstand, "invalid affected SOP instance UID")
	}
	in, err := a.s.storage.create(cmd.AffectedSOPClass, cmd.AffectedSOPInst, pc.ts, a.callingAE)
	if err != nil {
		a.s.log.Error("dicom: cannot create a file in the storage", "err", err)
		if err := a.readDataset(ctxID, io.Discard); err != nil {
			return err
		}
		return fail(dimse.StatusOutOfResources, "storage unavailable")
	}
	t0 := time.Now()
	if err := a.readDataset(ctxID, in); err != nil {
		in.abort()
		in.release()
		return err
	}
	in.timings[0] = time.Since(t0)
	status, comment := a.s.persist(in, cmd.AffectedSOPClass, cmd.AffectedSOPInst, pc.ts, Origin{CallingAE: a.callingAE, RemoteAddr: a.remote})
	if a.s.log.Enabled(context.Background(), slog.LevelDebug) {
		a.s.log.Debug("dicom: C-STORE timings", "status", statusHex(status), "bytes", in.size(),
			"receive", in.timings[0], "parse", in.timings[1], "fsync", in.timings[2], "commit", in.timings[3], "index", in.timings[4])
	}
	in.release()
	if status != dimse.StatusSuccess {
		return fail(status, comment)
	}
	a.stored++
	return a.respond(ctxID, dimse.Response(cmd, status, ""))
}

func statusHex(s uint16) string {
	const hexd = "0123456789ABCDEF"
	return string([]byte{hexd[s>>12], hexd[s>>8&15], hexd[s>>4&15], hexd[s&15]})
}

// persist makes a received file durable and indexed; the status says how
// that went. sopClass and sopInst are what the sender announced (the
// C-STORE command, or a STOW-RS part's meta). The temporary file is gone
// (moved or removed) on return.
func (s *Server) persist(in *incoming, sopClass, sopInst, ts string, o Origin) (uint16, string) {
	if in.err != nil {
		in.abort()
		s.log.Error("dicom: writing a received file failed", "err", in.err)
		return dimse.StatusOutOfResources, "storage write failed"
	}
	if err := in.w.Flush(); err != nil {
		in.abort()
		s.log.Error("dicom: writing a received file failed", "err", err)
		return dimse.StatusOutOfResources, "storage write failed"
	}
	t := time.Now()
	lap := func(i int) { in.timings[i] = time.Since(t); t = time.Now() }
	h, err := readHeaders(io.NewSectionReader(in.f, 0, in.size()), in.size())
	lap(1)
	if err != nil {
		in.abort()
		s.log.Warn("dicom: dataset cannot be parsed", "calling_ae", o.CallingAE, "err", err)
		return dimse.StatusCannotUnderstand, "dataset cannot be parsed"
	}
	if h.SOPClassUID != sopClass || h.SOPInstanceUID != sopInst {
		in.abort()
		return dimse.StatusDataSetMismatch, "dataset SOP class/instance differs from the command"
	}
	if !pathSafe(h.StudyUID) || !pathSafe(h.SeriesUID) {
		in.abort()
		return dimse.StatusCannotUnderstand, "missing or invalid study/series UID"
	}
	if err := in.finish(); err != nil {
		in.abort()
		s.log.Error("dicom: fsync of a received file failed", "err", err)
		return dimse.StatusOutOfResources, "storage write failed"
	}
	lap(2)
	sum := in.sum()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.IndexTimeout)
	defer cancel()
	unlock := s.storage.lock(sopInst)
	defer unlock()

	existing, err := s.index.LookupInstance(ctx, sopInst)
	if err != nil {
		in.abort()
		s.log.Error("dicom: index unavailable", "err", err)
		return dimse.StatusOutOfResources, "index unavailable"
	}
	if existing != nil {
		return s.second(ctx, in, existing, sum, ts, o)
	}
	rel := instancePath(h.StudyUID, h.SeriesUID, h.SOPInstanceUID)
	if err := s.storage.commit(in, rel); err != nil {
		s.log.Error("dicom: storing a received file failed", "err", err)
		return dimse.StatusOutOfResources, "storage write failed"
	}
	lap(3)
	r := &drafts.ReceivedInstance{
		StudyUID: h.StudyUID, AccessionNumber: h.AccessionNumber, PatientID: h.PatientID,
		PatientName: h.PatientName, PatientBirthDate: h.PatientBirthDate, PatientSex: h.PatientSex,
		StudyDate: h.StudyDate, StudyTime: h.StudyTime, StudyDescription: h.StudyDescription,
		ReferringPhysician: h.ReferringPhysician, Indication: h.Indication, IndicationSource: h.IndicationSource,
		SeriesUID: h.SeriesUID, Modality: h.Modality, SeriesNumber: h.SeriesNumber,
		SeriesDescription: h.SeriesDescription, BodyPart: h.BodyPart,
		SOPInstanceUID: h.SOPInstanceUID, SOPClassUID: h.SOPClassUID, InstanceNumber: h.InstanceNumber,
		TransferSyntaxUID: ts, Path: rel, FileSize: in.size(), DatasetSize: in.dataLen, SHA256: sum,
		CallingAE: o.CallingAE, RemoteAddr: o.RemoteAddr, ViewPosition: h.ViewPosition, ViewCode: h.ViewCode,
		ImageLaterality: h.ImageLaterality, Photometric: h.Photometric, Rows: h.Rows, Columns: h.Columns,
	}
	if err := s.index.IndexInstance(ctx, r); err != nil {
		// The file stays in place, unacknowledged; a re-send replaces it.
		s.log.Error("dicom: indexing a received instance failed", "err", err)
		return dimse.StatusOutOfResources, "index unavailable"
	}
	lap(4)
	return dimse.StatusSuccess, ""
}

// second handles a copy of an already indexed instance.
func (s *Server) second(ctx context.Context, in *incoming, existing *drafts.StoredInstance, sum, ts string, o Origin) (uint16, string) {
	if existing.SHA256 == sum {
		in.abort()
		if err := s.index.RecordDuplicate(ctx, existing.SOPInstanceUID); err != nil {
			s.log.Error("dicom: counting a duplicate failed", "err", err)
			return dimse.StatusOutOfResources, "index unavailable"
		}
		return dimse.StatusSuccess, ""
	}
	rel := conflictPath(existing.SOPInstanceUID, sum)
	if err := s.storage.commit(in, rel); err != nil {
		s.log.Error("dicom: storing a conflicting copy failed", "err", err)
		return dimse.StatusOutOfResources, "storage write failed"
	}
	if err := s.index.RecordConflict(ctx, drafts.InstanceConflict{
		SOPInstanceUID: existing.SOPInstanceUID, Path: rel, SHA256: sum, FileSize: in.size(), CallingAE: o.CallingAE,
		TransferSyntaxUID: ts,
	}); err != nil {
		s.log.Error("dicom: recording a conflicting copy failed", "err", err)
		return dimse.StatusOutOfResources, "index unavailable"
	}
	s.log.Warn("dicom: a different copy of a stored instance was kept aside", "calling_ae", o.CallingAE, "path", rel)
	return dimse.StatusSuccess, ""
}
