package scp

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/radraft/radraft/dicom/dataset"
	"github.com/radraft/radraft/dicom/dimse"
	"github.com/radraft/radraft/ingest"
)

// storeService is the Storage SCP: a C-STORE's dataset goes through Ingest
// (stream to .tmp, parse, fsync, rename, index), and the answer is sent
// only once the instance is durable and indexed.
type storeService struct{ s *Server }

func (st storeService) Serve(m *Message, w Responder) error {
	cmd := m.Command
	if !cmd.HasDataSet() {
		return w.Respond(dimse.Response(cmd, dimse.StatusMistypedArgument, "C-STORE without a dataset"))
	}
	if cmd.AffectedSOPClass != m.Context.AbstractSyntax {
		return w.Respond(dimse.Response(cmd, dimse.StatusSOPClassNotSupported, "SOP class differs from the presentation context"))
	}
	status, comment, err := st.s.Ingest(m.Dataset, cmd.AffectedSOPClass, cmd.AffectedSOPInst, m.Context.TransferSyntax, m.Origin)
	if err != nil {
		return err
	}
	return w.Respond(dimse.Response(cmd, status, comment))
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
	if errors.Is(err, dataset.ErrTruncated) {
		in.abort()
		s.log.Warn("dicom: dataset truncated", "calling_ae", o.CallingAE, "err", err)
		return dimse.StatusTruncated, "dataset ends inside an element"
	}
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
		return dimse.StatusInvalidUID, "missing or invalid Study/Series Instance UID"
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
	r := receivedInstance(h, in, rel, sum, ts, o)
	err = s.index.IndexInstance(ctx, r)
	if errors.Is(err, ingest.ErrSeriesInOtherStudy) {
		// Permanent: the file just renamed into place is neither indexed
		// nor acknowledged (its SOP instance is new: checked under the lock).
		os.Remove(filepath.Join(s.storage.Dir, rel))
		s.log.Warn("dicom: instance refused: its series is stored under another study", "calling_ae", o.CallingAE)
		return dimse.StatusSeriesInOtherStudy, "Series Instance UID belongs to another study"
	}
	if err != nil {
		// The file stays in place, unacknowledged; a re-send replaces it.
		s.log.Error("dicom: indexing a received instance failed", "err", err)
		return dimse.StatusOutOfResources, "index unavailable"
	}
	lap(4)
	return dimse.StatusSuccess, ""
}

// receivedInstance is the index row of a file stored at rel: its headers,
// how it arrived, and its size and digest.
func receivedInstance(h *headers, in *incoming, rel, sum, ts string, o Origin) *ingest.ReceivedInstance {
	return &ingest.ReceivedInstance{
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
}

// second handles a copy of an already indexed instance.
func (s *Server) second(ctx context.Context, in *incoming, existing *ingest.StoredInstance, sum, ts string, o Origin) (uint16, string) {
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
	if err := s.index.RecordConflict(ctx, ingest.InstanceConflict{
		SOPInstanceUID: existing.SOPInstanceUID, Path: rel, SHA256: sum, FileSize: in.size(), CallingAE: o.CallingAE,
		TransferSyntaxUID: ts,
	}); err != nil {
		s.log.Error("dicom: recording a conflicting copy failed", "err", err)
		return dimse.StatusOutOfResources, "index unavailable"
	}
	s.log.Warn("dicom: a different copy of a stored instance was kept aside", "calling_ae", o.CallingAE, "path", rel)
	return dimse.StatusSuccess, ""
}
