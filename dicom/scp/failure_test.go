package scp_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/dicom/scp"
	"github.com/radraft/radraft/drafts"
)

// failingIndex fails IndexInstance while fail is set.
type failingIndex struct {
	*drafts.Store
	fail atomic.Bool
}

func (f *failingIndex) IndexInstance(ctx context.Context, r *drafts.ReceivedInstance) error {
	if f.fail.Load() {
		return errors.New("simulated database failure")
	}
	return f.Store.IndexInstance(ctx, r)
}

// A database failure gives A700 (never 0000), and the association stays
// usable: the same instance stored again once the database is back.
func TestIndexFailureA700(t *testing.T) {
	store := newStore(t)
	fi := &failingIndex{Store: store}
	ts := startServerWith(t, store, fi, nil)
	rc := associate(t, ts, "FAILTEST", nil)
	defer rc.Close()
	ds := scDataset(dicom.SecondaryCapture, cpSOPInst)
	fi.fail.Store(true)
	if st, err := rc.store(3, dicom.SecondaryCapture, cpSOPInst, ds); err != nil || st != 0xA700 {
		t.Fatalf("store with the database failing: status %04X, %v", st, err)
	}
	if n := countRows(t, store, `SELECT count(*) FROM instances`); n != 0 {
		t.Fatalf("%d instances indexed", n)
	}
	fi.fail.Store(false)
	if st, err := rc.echo(); err != nil || st != 0 {
		t.Fatalf("echo after failure: %04X %v", st, err)
	}
	if st, err := rc.store(3, dicom.SecondaryCapture, cpSOPInst, ds); err != nil || st != 0 {
		t.Fatalf("store again: status %04X, %v", st, err)
	}
	if n := countRows(t, store, `SELECT count(*) FROM instances`); n != 1 {
		t.Fatalf("%d instances indexed, want 1", n)
	}
	if err := rc.release(); err != nil {
		t.Fatal(err)
	}
}

// A disk failure (the temporary directory gone, a directory blocked by a
// file) gives A700, and the association stays usable.
func TestStorageFailureA700(t *testing.T) {
	ts := startServer(t, nil)
	rc := associate(t, ts, "FAILTEST", nil)
	defer rc.Close()
	ds := scDataset(dicom.SecondaryCapture, cpSOPInst)
	tmp := filepath.Join(ts.dir, ".tmp")
	if err := os.RemoveAll(tmp); err != nil {
		t.Fatal(err)
	}
	if st, err := rc.store(3, dicom.SecondaryCapture, cpSOPInst, ds); err != nil || st != 0xA700 {
		t.Fatalf("store without a temporary directory: status %04X, %v", st, err)
	}
	if err := os.Mkdir(tmp, 0o750); err != nil {
		t.Fatal(err)
	}
	// The study directory's name taken by a file: the rename cannot happen.
	if err := os.WriteFile(filepath.Join(ts.dir, cpStudy), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := rc.store(3, dicom.SecondaryCapture, cpSOPInst, ds); err != nil || st != 0xA700 {
		t.Fatalf("store with the study directory blocked: status %04X, %v", st, err)
	}
	if n := countRows(t, ts.store, `SELECT count(*) FROM instances`); n != 0 {
		t.Fatalf("%d instances indexed", n)
	}
	os.Remove(filepath.Join(ts.dir, cpStudy))
	if st, err := rc.store(3, dicom.SecondaryCapture, cpSOPInst, ds); err != nil || st != 0 {
		t.Fatalf("store after repair: status %04X, %v", st, err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("%d files left in .tmp", len(ents))
	}
}

// An association with nothing to say is aborted after the idle timeout.
func TestIdleTimeout(t *testing.T) {
	ts := startServer(t, func(c *scp.Config) { c.IdleTimeout = 300 * time.Millisecond })
	rc := associate(t, ts, "IDLER", nil)
	defer rc.Close()
	start := time.Now()
	_, err := rc.c.NextPDV()
	if !errors.Is(err, ulErrPeerAborted) {
		t.Fatalf("idle association: %v, want an A-ABORT", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Errorf("aborted after %v", d)
	}
}
