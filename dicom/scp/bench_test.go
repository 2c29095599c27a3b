package scp_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/dicom/scp/scptest"
)

// BenchmarkStoreCR stores copies of the 7.5 MB CR over one association of
// our own SCU, in process (server CPU profile: go test -bench StoreCR
// -cpuprofile). bench/ingest compares against Orthanc and storescp.
func BenchmarkStoreCR(b *testing.B) {
	store := newStore(b)
	ts := startServerWith(b, store, store, nil)
	dir := b.TempDir()
	copies, err := scptest.WriteCRCopies(dir, 8)
	if err != nil {
		b.Fatal(err)
	}
	type item struct {
		sop string
		ds  []byte
	}
	var items []item
	for _, c := range copies {
		raw, err := os.ReadFile(c.Path)
		if err != nil {
			b.Fatal(err)
		}
		items = append(items, item{c.SOPInstanceUID, datasetOf(b, raw)})
	}
	rc := associate(b, ts, "BENCH", nil)
	defer rc.Close()
	b.SetBytes(int64(len(items[0].ds)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		it := items[i%len(items)]
		if i >= len(items) {
			b.StopTimer()
			draftstest_MustExec(b, store, `DELETE FROM instances WHERE sop_instance_uid = $1`, it.sop)
			b.StartTimer()
		}
		st, err := rc.store(5, dicom.CRImageStorage, it.sop, it.ds)
		if err != nil || st != 0 {
			b.Fatalf("store: %04X %v", st, err)
		}
	}
	b.StopTimer()
	os.RemoveAll(filepath.Join(ts.dir))
}
