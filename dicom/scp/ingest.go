package scp

import (
	"io"
	"slices"
	"sync"

	"github.com/radraft/radraft/dicom/dimse"
)

// Origin says where an instance came from: the calling AE title (or, for
// STOW-RS, the HTTP client's identity) and the remote address. Both are
// recorded with the instance.
type Origin struct {
	CallingAE  string
	RemoteAddr string
}

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Ingest stores one dataset arriving by another transport (STOW-RS) under
// exactly the rules of a C-STORE: the same SOP class and transfer syntax
// lists, the same streaming into .tmp, parse, fsync, rename and index steps,
// the same duplicate/conflict policy, the same DIMSE status. r holds the
// dataset only (no preamble or group 0002), encoded in transfer syntax ts;
// sopClass and sopInst are what the sender announced (a Part 10 file's
// meta), and must match the dataset. It never holds more than one copy
// buffer of r in memory.
//
// The status is a DIMSE C-STORE status (0000 only once durable and
// indexed); err is non-nil only when reading r failed, and then nothing
// was stored.
func (s *Server) Ingest(r io.Reader, sopClass, sopInst, ts string, o Origin) (status uint16, comment string, err error) {
	reject := func(st uint16, why string) (uint16, string, error) {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return 0, "", err
		}
		return st, why, nil
	}
	if !s.acceptsSOPClass(sopClass) {
		return reject(dimse.StatusSOPClassNotSupported, "SOP class not accepted")
	}
	if !slices.Contains(s.cfg.TransferSyntaxes, ts) {
		return reject(dimse.StatusCannotUnderstand, "transfer syntax not accepted")
	}
	if !pathSafe(sopInst) {
		return reject(dimse.StatusInvalidUID, "invalid SOP Instance UID")
	}
	in, err := s.storage.create(sopClass, sopInst, ts, o.CallingAE)
	if err != nil {
		s.log.Error("dicom: cannot create a file in the storage", "err", err)
		return reject(dimse.StatusOutOfResources, "storage unavailable")
	}
	defer in.release()
	buf := copyBufPool.Get().(*[]byte)
	_, err = io.CopyBuffer(struct{ io.Writer }{in}, r, *buf)
	copyBufPool.Put(buf)
	if err != nil {
		in.abort()
		return 0, "", err
	}
	status, comment = s.persist(in, sopClass, sopInst, ts, o)
	return status, comment, nil
}
