package scp

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/fnv"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/radraft/radraft/dicom"
)

// Storage is the tree of received Part 10 files:
//
//	<dir>/<study UID>/<series UID>/<SOP instance UID>.dcm   indexed instances
//	<dir>/.conflicts/<SOP instance UID>/<sha256>.dcm        differing re-sends
//	<dir>/.tmp/                                             files being received
//
// A file appears under its final name only once complete and fsynced (a
// rename, then an fsync of its directory). .tmp is emptied at start-up, so
// nothing partial is ever visible in the tree.
type Storage struct {
	Dir       string
	tmp       string
	conflicts string
	dirs      sync.Map // relative directories whose entries are known durable
	locks     [256]sync.Mutex
}

// OpenStorage creates the tree as needed and removes what a crash left in .tmp.
func OpenStorage(dir string) (*Storage, error) {
	s := &Storage{Dir: dir, tmp: filepath.Join(dir, ".tmp"), conflicts: filepath.Join(dir, ".conflicts")}
	for _, d := range []string{dir, s.tmp, s.conflicts} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("scp: storage: %w", err)
		}
	}
	ents, err := os.ReadDir(s.tmp)
	if err != nil {
		return nil, fmt.Errorf("scp: storage: %w", err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(s.tmp, e.Name())); err != nil {
			return nil, fmt.Errorf("scp: storage: clean %s: %w", s.tmp, err)
		}
	}
	return s, nil
}

// lock serialises the handling of one SOP Instance UID (lookup, rename,
// index), so that two copies arriving together cannot both become "first".
func (s *Storage) lock(uid string) func() {
	h := fnv.New32a()
	h.Write([]byte(uid))
	m := &s.locks[h.Sum32()%uint32(len(s.locks))]
	m.Lock()
	return m.Unlock
}

// pathSafe reports whether a UID is valid enough to be stored and to name
// a file or directory: 1-64 characters, digits and dots, no empty
// component (so no leading, trailing or double dot). dicom.ValidUID is
// stricter; real files sometimes carry leading zeros, which are harmless
// here and accepted.
func pathSafe(uid string) bool {
	if uid == "" || len(uid) > 64 {
		return false
	}
	prev := byte('.')
	for i := 0; i < len(uid); i++ {
		c := uid[i]
		if c == '.' && prev == '.' || (c < '0' || c > '9') && c != '.' {
			return false
		}
		prev = c
	}
	return prev != '.'
}

// incoming is a file being received.
type incoming struct {
	f       *os.File
	w       *bufio.Writer
	h       hash.Hash // of the dataset bytes
	metaLen int64
	dataLen int64
	err     error // first write error; the rest of the dataset is discarded
	synced  int64 // bytes handed to writeback so far
	digest  string
	timings [5]time.Duration // receive, parse, fsync, rename, index
}

const writeBuf = 256 << 10

// Buffers are reused across instances: the heap stays flat however many
// instances an association sends.
var (
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBuf) }}
	hashPool   = sync.Pool{New: func() any { return sha256.New() }}
)

// release returns the buffers to their pools; in must not be used after.
func (in *incoming) release() {
	if in.w != nil {
		in.w.Reset(nil)
		writerPool.Put(in.w)
		in.w = nil
	}
	if in.h != nil {
		hashPool.Put(in.h)
		in.h = nil
	}
}

// create starts a temporary Part 10 file: preamble and group 0002 meta.
func (s *Storage) create(sopClass, sopInst, ts, callingAE string) (*incoming, error) {
	var rnd [12]byte
	rand.Read(rnd[:]) //nolint:errcheck
	f, err := os.OpenFile(filepath.Join(s.tmp, hex.EncodeToString(rnd[:])+".part"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, err
	}
	w := writerPool.Get().(*bufio.Writer)
	w.Reset(f)
	h := hashPool.Get().(hash.Hash)
	h.Reset()
	in := &incoming{f: f, w: w, h: h}
	meta := encodeMeta(sopClass, sopInst, ts, callingAE)
	in.metaLen = int64(len(meta))
	if _, err := in.w.Write(meta); err != nil {
		in.abort()
		return nil, err
	}
	return in, nil
}

// Write appends dataset bytes. After a write error it keeps the error and
// swallows the rest, so the association can drain the PDVs and answer.
func (in *incoming) Write(p []byte) (int, error) {
	if in.err != nil {
		return len(p), nil
	}
	in.h.Write(p)
	in.dataLen += int64(len(p))
	if _, err := in.w.Write(p); err != nil {
		in.err = err
		return len(p), nil
	}
	// Start writeback of what is written so far every MB, so the fsync
	// at the end has little left to do (the data must reach the disk anyway).
	if pos := in.metaLen + in.dataLen - int64(in.w.Buffered()); pos-in.synced >= 1<<20 {
		unix.SyncFileRange(int(in.f.Fd()), in.synced, pos-in.synced, unix.SYNC_FILE_RANGE_WRITE) //nolint:errcheck
		in.synced = pos
	}
	return len(p), nil
}

// finish flushes and fsyncs the file.
func (in *incoming) finish() error {
	if in.err != nil {
		return in.err
	}
	if err := in.w.Flush(); err != nil {
		return err
	}
	return in.f.Sync()
}

func (in *incoming) sum() string {
	if in.digest == "" {
		in.digest = hex.EncodeToString(in.h.Sum(nil))
	}
	return in.digest
}

func (in *incoming) size() int64 { return in.metaLen + in.dataLen }

// abort removes the temporary file.
func (in *incoming) abort() {
	in.f.Close()
	os.Remove(in.f.Name())
}

// commit moves the complete, fsynced file to rel (relative to the tree)
// and makes it durable: the rename, then an fsync of its directory and of
// every parent whose entry is not yet known to be durable (directories just
// made, or first seen since start-up). The syncs come after the rename so
// that the first one commits the file system journal for all of them.
func (s *Storage) commit(in *incoming, rel string) error {
	if err := in.f.Close(); err != nil {
		os.Remove(in.f.Name())
		return err
	}
	dir := filepath.Dir(rel)
	// Levels of dir from the deepest up: "a/b", "a".
	var levels []string
	for d := dir; d != "." && d != string(filepath.Separator); d = filepath.Dir(d) {
		levels = append(levels, d)
	}
	var unsynced []string // directories whose parent must be fsynced
	for i := len(levels) - 1; i >= 0; i-- {
		if _, ok := s.dirs.Load(levels[i]); ok {
			continue
		}
		if err := os.Mkdir(filepath.Join(s.Dir, levels[i]), 0o750); err != nil && !os.IsExist(err) {
			os.Remove(in.f.Name())
			return err
		}
		unsynced = append(unsynced, levels[i])
	}
	if err := os.Rename(in.f.Name(), filepath.Join(s.Dir, rel)); err != nil {
		os.Remove(in.f.Name())
		return err
	}
	if err := syncDir(filepath.Join(s.Dir, dir)); err != nil {
		return err
	}
	for i := len(unsynced) - 1; i >= 0; i-- {
		if err := syncDir(filepath.Join(s.Dir, filepath.Dir(unsynced[i]))); err != nil {
			return err
		}
		s.dirs.Store(unsynced[i], true)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func instancePath(study, series, sop string) string {
	return filepath.Join(study, series, sop+".dcm")
}

func conflictPath(sop, sum string) string {
	return filepath.Join(".conflicts", sop, sum+".dcm")
}

// encodeMeta encodes the 128-byte preamble, "DICM" and the group 0002 file
// meta information (Explicit VR Little Endian, PS3.10 7.1).
func encodeMeta(sopClass, sopInst, ts, callingAE string) []byte {
	var g []byte
	el := func(elem uint16, vr string, v []byte) {
		g = binary.LittleEndian.AppendUint16(g, 2)
		g = binary.LittleEndian.AppendUint16(g, elem)
		g = append(g, vr...)
		if vr == "OB" {
			g = append(g, 0, 0)
			g = binary.LittleEndian.AppendUint32(g, uint32(len(v)))
		} else {
			g = binary.LittleEndian.AppendUint16(g, uint16(len(v)))
		}
		g = append(g, v...)
	}
	pad := func(s string, p byte) []byte {
		b := []byte(s)
		if len(b)%2 == 1 {
			b = append(b, p)
		}
		return b
	}
	el(0x0001, "OB", []byte{0, 1})
	el(0x0002, "UI", pad(sopClass, 0))
	el(0x0003, "UI", pad(sopInst, 0))
	el(0x0010, "UI", pad(ts, 0))
	el(0x0012, "UI", pad(dicom.ImplementationClassUID, 0))
	el(0x0013, "SH", pad(dicom.ImplementationVersionName, ' '))
	if callingAE != "" {
		el(0x0016, "AE", pad(callingAE, ' '))
	}
	b := make([]byte, 128, 128+4+12+len(g))
	b = append(b, "DICM"...)
	b = append(b, 2, 0, 0, 0, 'U', 'L', 4, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(g)))
	return append(b, g...)
}
