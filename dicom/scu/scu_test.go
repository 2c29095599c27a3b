package scu_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/radraft/radraft/dicom/scu"
	"github.com/radraft/radraft/dicom/sr"
	"github.com/radraft/radraft/dicom/ul"
	"github.com/radraft/radraft/internal/testpeers"
)

// startStorescp runs DCMTK's storescp (AE title PACS) writing into dir.
func startStorescp(t *testing.T, dir string, args ...string) scu.Destination {
	return scu.Destination{AETitle: "PACS", Host: "127.0.0.1", Port: testpeers.Storescp(t, dir, args...)}
}

func testSR(t *testing.T) (file []byte, uid string) {
	t.Helper()
	d := &sr.Document{Kind: sr.Signed, ReportID: "r-1", Version: 2, StudyUID: "1.2.826.0.1.3680043.10.1423.98.1",
		Findings: "No acute cardiopulmonary process.", Observer: "Smith^Anna", Time: time.Now()}
	b, err := sr.Build(d)
	if err != nil {
		t.Fatal(err)
	}
	return b, sr.InstanceUID("r-1", 2)
}

// A real storescp receives the SR: the file it writes holds our dataset.
func TestStoreToStorescp(t *testing.T) {
	dir := t.TempDir()
	dest := startStorescp(t, dir, "+B") // bit-preserving: the file is what came over the wire
	file, uid := testSR(t)
	off, err := sr.DatasetOffset(file)
	if err != nil {
		t.Fatal(err)
	}
	c := &scu.Client{CallingAE: "RADRAFT", Timeout: 20 * time.Second}
	if st, err := c.Store(context.Background(), dest, sr.BasicTextSR, uid, file[off:]); err != nil || st != 0 {
		t.Fatalf("store: status %04X, %v", st, err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "SRt."+uid))
	if err != nil {
		ents, _ := os.ReadDir(dir)
		t.Fatalf("storescp wrote no SRt.%s (its name for Basic Text SR) (%v): %v", uid, ents, err)
	}
	if !bytes.HasSuffix(got, file[off:]) {
		t.Fatal("the stored dataset differs from what was sent")
	}
}

// A refused association is an error that says whether retrying can help;
// nothing listening is transient.
func TestStoreFailures(t *testing.T) {
	file, uid := testSR(t)
	off, _ := sr.DatasetOffset(file)
	c := &scu.Client{CallingAE: "RADRAFT", Timeout: 10 * time.Second}
	dest := startStorescp(t, t.TempDir(), "--refuse")
	_, err := c.Store(context.Background(), dest, sr.BasicTextSR, uid, file[off:])
	var rj *ul.RejectError
	if !errors.As(err, &rj) {
		t.Fatalf("refused association: %v", err)
	}
	closed := scu.Destination{AETitle: "NOBODY", Host: "127.0.0.1", Port: testpeers.FreePort(t)}
	if _, err := c.Store(context.Background(), closed, sr.BasicTextSR, uid, file[off:]); err == nil || scu.Permanent(err) {
		t.Fatalf("nothing listening: %v (permanent %v)", err, scu.Permanent(err))
	}
	if !scu.Permanent(&scu.StatusError{Status: 0xA900}) || scu.Permanent(&scu.StatusError{Status: 0xA700}) {
		t.Fatal("A900 must be permanent, A700 transient")
	}
}

func TestParseDestinations(t *testing.T) {
	ds, err := scu.ParseDestinations(" PACS@10.0.0.1:104, ARCHIVE@[::1]:11112 ,")
	if err != nil || len(ds) != 2 || ds[0].String() != "PACS@10.0.0.1:104" || ds[1].Host != "::1" || ds[1].Port != 11112 {
		t.Fatalf("%v %v", ds, err)
	}
	if ds, err := scu.ParseDestinations(""); err != nil || len(ds) != 0 {
		t.Fatalf("empty: %v %v", ds, err)
	}
	for _, bad := range []string{"PACS", "@h:1", "PACS@h", "PACS@h:0", "PACS@h:x", "WAYTOOLONGAETITLE17@h:1", "A@h:1,A@h:1", " A B@:1"} {
		if _, err := scu.ParseDestinations(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
