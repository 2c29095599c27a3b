package scp

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/radraft/radraft/dicom/ul"
	"github.com/radraft/radraft/ingest"
)

// memIndex is an in-memory Index: fuzzing at Postgres speed would find
// little (the database side is tested against real Postgres elsewhere).
type memIndex struct {
	mu     sync.Mutex
	sops   map[string]*ingest.StoredInstance
	series map[string]string
}

func (m *memIndex) LookupInstance(_ context.Context, sop string) (*ingest.StoredInstance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sops[sop], nil
}

func (m *memIndex) IndexInstance(_ context.Context, r *ingest.ReceivedInstance) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st, ok := m.series[r.SeriesUID]; ok && st != r.StudyUID {
		return ingest.ErrSeriesInOtherStudy
	}
	m.series[r.SeriesUID] = r.StudyUID
	m.sops[r.SOPInstanceUID] = &ingest.StoredInstance{SOPInstanceUID: r.SOPInstanceUID, StudyUID: r.StudyUID, Path: r.Path, SHA256: r.SHA256}
	return nil
}

func (m *memIndex) RecordDuplicate(context.Context, string) error                 { return nil }
func (m *memIndex) RecordConflict(context.Context, ingest.InstanceConflict) error { return nil }

// fuzzConn is a net.Conn reading from a byte slice and discarding writes.
type fuzzConn struct{ r *bytes.Reader }

func (c fuzzConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c fuzzConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c fuzzConn) Close() error                     { return nil }
func (c fuzzConn) LocalAddr() net.Addr              { return nil }
func (c fuzzConn) RemoteAddr() net.Addr             { return nil }
func (c fuzzConn) SetDeadline(time.Time) error      { return nil }
func (c fuzzConn) SetReadDeadline(time.Time) error  { return nil }
func (c fuzzConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzServer drives a whole association from raw bytes through the real
// listener: the upper layer's acceptor, the DIMSE loop, C-ECHO and C-STORE
// with real storage (a temporary directory) and header parsing; only the
// index is in memory. It must never panic (the recovery would hide it, so
// the panic counter is checked), never leave a file in .tmp, and never
// allocate more than a constant plus a small multiple of its input.
// Seeds: the hostile corpus (testdata/fuzz/FuzzServer, written by
// TestMalformedCorpus -update).
func FuzzServer(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 4, 0, 1, 0, 0})
	dir := f.TempDir()
	storage, err := OpenStorage(dir)
	if err != nil {
		f.Fatal(err)
	}
	s := New(Config{AETitle: "RADRAFT", MaxPDU: 64 << 10, ARTIM: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		storage, &memIndex{sops: map[string]*ingest.StoredInstance{}, series: map[string]string{}})
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		a := ul.NewAcceptor(fuzzConn{bytes.NewReader(data)}, ul.Options{ARTIM: time.Second, IdleTimeout: time.Second,
			PDUTimeout: time.Second, MaxPDU: 64 << 10})
		func() {
			defer s.recoverAssociation(a)
			s.handle(a)
		}()
		s.active.Store(0)
		if n := s.panics.Load(); n != 0 {
			t.Fatalf("the association handler panicked")
		}
		if ents, _ := os.ReadDir(filepath.Join(dir, ".tmp")); len(ents) != 0 {
			t.Fatalf("%d files left in .tmp", len(ents))
		}
		runtime.ReadMemStats(&after)
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 2<<20+16*uint64(len(data)) {
			t.Fatalf("%d bytes of input allocated %d bytes", len(data), grown)
		}
	})
}
