package scp_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/dicom/scp"
)

// Ingest (the STOW-RS entry) follows the C-STORE rules: stored and indexed
// on 0000, the same duplicate policy, the same refusals, and nothing left
// behind when the sender's stream breaks.
func TestIngestFollowsCStoreRules(t *testing.T) {
	ts := startServer(t, nil)
	o := scp.Origin{CallingAE: "stow:alice", RemoteAddr: "127.0.0.1:1"}
	ds := scDataset(dicom.SecondaryCapture, cpSOPInst)
	ingest := func(r io.Reader, class, inst, tsUID string) (uint16, error) {
		st, _, err := ts.srv.Ingest(r, class, inst, tsUID, o)
		return st, err
	}
	if st, err := ingest(bytes.NewReader(ds), dicom.SecondaryCapture, cpSOPInst, dicom.ExplicitVRLittleEndian); err != nil || st != 0 {
		t.Fatalf("ingest: status %04X, %v", st, err)
	}
	stored := filepath.Join(ts.dir, cpStudy, cpSeries, cpSOPInst+".dcm")
	b, err := os.ReadFile(stored)
	if err != nil || !bytes.HasSuffix(b, ds) {
		t.Fatalf("stored file: %v (dataset kept as received: %v)", err, bytes.HasSuffix(b, ds))
	}
	if n := countRows(t, ts.store, `SELECT count(*) FROM instances WHERE calling_ae='stow:alice'`); n != 1 {
		t.Fatalf("%d instances indexed with the origin", n)
	}
	// The identical copy again: success, counted as a duplicate.
	if st, err := ingest(bytes.NewReader(ds), dicom.SecondaryCapture, cpSOPInst, dicom.ExplicitVRLittleEndian); err != nil || st != 0 {
		t.Fatalf("duplicate: status %04X, %v", st, err)
	}
	if n := countRows(t, ts.store, `SELECT duplicate_count FROM instances`); n != 1 {
		t.Fatalf("duplicate_count %d", n)
	}
	const other = "1.2.826.0.1.3680043.10.1423.7.9"
	for _, c := range []struct {
		name               string
		class, inst, tsUID string
		ds                 []byte
		want               uint16
	}{
		{"SOP class not accepted (not a storage class)", "1.2.840.10008.5.1.4.31", other, dicom.ExplicitVRLittleEndian, ds, 0x0122},
		{"transfer syntax not accepted", dicom.SecondaryCapture, other, "1.2.3", ds, 0xC000},
		{"unsafe UID", dicom.SecondaryCapture, "../x", dicom.ExplicitVRLittleEndian, ds, 0xC001},
		{"UID with an empty component", dicom.SecondaryCapture, "1..2", dicom.ExplicitVRLittleEndian, ds, 0xC001},
		{"dataset differs from the announced instance", dicom.SecondaryCapture, other, dicom.ExplicitVRLittleEndian, ds, 0xA900},
		{"garbage", dicom.SecondaryCapture, other, dicom.ExplicitVRLittleEndian, []byte("not a dataset at all"), 0xC000},
	} {
		if st, err := ingest(bytes.NewReader(c.ds), c.class, c.inst, c.tsUID); err != nil || st != c.want {
			t.Errorf("%s: status %04X, %v; want %04X", c.name, st, err, c.want)
		}
	}
	// A stream that breaks: the reader's error, nothing stored, .tmp empty.
	broken := io.MultiReader(bytes.NewReader(ds[:40]), errReader{})
	if _, err := ingest(broken, dicom.SecondaryCapture, other, dicom.ExplicitVRLittleEndian); !errors.Is(err, errBroken) {
		t.Fatalf("broken stream: %v", err)
	}
	if n := countRows(t, ts.store, `SELECT count(*) FROM instances`); n != 1 {
		t.Fatalf("%d instances after refusals", n)
	}
	if ents, _ := os.ReadDir(filepath.Join(ts.dir, ".tmp")); len(ents) != 0 {
		t.Errorf("%d files left in .tmp", len(ents))
	}
}

var errBroken = errors.New("connection reset")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }
