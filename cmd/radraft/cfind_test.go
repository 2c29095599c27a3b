package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/radraft/radraft/dicom/scp"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/internal/testfiles"
	"github.com/radraft/radraft/internal/testpeers"
)

// findscu (DCMTK) queries radraft as it queries a PACS: Study Root C-FIND
// at the STUDY and SERIES levels, answered from the index by archiveFinder.
func TestCFindWithFindscu(t *testing.T) {
	store := draftstest.New(t)
	storage, err := scp.OpenStorage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := scp.New(scp.Config{AETitle: "RADRAFT", Finder: archiveFinder{store},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, storage, store)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx) //nolint:errcheck
	})
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if out, err := exec.Command(testpeers.Require(t, "storescu"), "-aec", "RADRAFT", host, port, testfiles.CR(t)).CombinedOutput(); err != nil {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	find := func(keys ...string) (responses []string, out string) {
		dir := t.TempDir()
		args := []string{"-v", "-S", "-X", "-od", dir, "-aec", "RADRAFT"}
		for _, k := range keys {
			args = append(args, "-k", k)
		}
		b, err := exec.Command(testpeers.Require(t, "findscu"), append(args, host, port)...).CombinedOutput()
		if err != nil {
			t.Fatalf("findscu %v: %v\n%s", keys, err, b)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "rsp*.dcm"))
		for _, f := range files {
			d, _ := exec.Command(testpeers.Require(t, "dcmdump"), f).CombinedOutput()
			responses = append(responses, string(d))
		}
		return responses, string(b)
	}
	const study = "1.3.6.1.4.1.14519.5.2.1.9999.103.2445110399502685110179049624124"
	rs, _ := find("QueryRetrieveLevel=STUDY", "PatientName=covid*", "StudyDate=20120101-20121231",
		"StudyInstanceUID", "PatientID", "ModalitiesInStudy", "NumberOfStudyRelatedInstances")
	if len(rs) != 1 || !strings.Contains(rs[0], study) || !strings.Contains(rs[0], "[COVID-19-AR-16406488]") ||
		!strings.Contains(rs[0], "(0008,0061) CS [CR]") || !strings.Contains(rs[0], "(0020,1208) IS [1]") {
		t.Fatalf("STUDY level: %d responses\n%s", len(rs), strings.Join(rs, "\n"))
	}
	if strings.Contains(rs[0], "StudyDescription") {
		t.Error("a key not asked for was returned")
	}
	rs, _ = find("QueryRetrieveLevel=SERIES", "StudyInstanceUID="+study, "SeriesInstanceUID", "Modality", "NumberOfSeriesRelatedInstances")
	if len(rs) != 1 || !strings.Contains(rs[0], "(0008,0060) CS [CR]") || !strings.Contains(rs[0], "SERIES") {
		t.Fatalf("SERIES level: %d responses\n%s", len(rs), strings.Join(rs, "\n"))
	}
	if rs, _ = find("QueryRetrieveLevel=STUDY", "StudyDate=-20111231", "StudyInstanceUID"); len(rs) != 0 {
		t.Fatalf("no match expected: %d", len(rs))
	}
	if _, out := find("QueryRetrieveLevel=IMAGE", "SOPInstanceUID"); !strings.Contains(out, "Final Find Response (Error: DataSetDoesNotMatchSOPClass)") { // A900
		t.Fatalf("IMAGE level not refused:\n%s", out)
	}
}
