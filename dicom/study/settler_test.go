package study_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/radraft/radraft/dicom/study"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/ingest"
	"github.com/radraft/radraft/internal/testfiles"
)

// storeCopy copies src into dir/rel and returns rel.
func storeCopy(t *testing.T, src, dir, rel string) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dst := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return rel
}

func index(t *testing.T, s *drafts.Store, ri ingest.ReceivedInstance) {
	t.Helper()
	if ri.SeriesUID == "" {
		ri.SeriesUID = ri.StudyUID + ".1"
	}
	if ri.SOPClassUID == "" {
		ri.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1"
	}
	if ri.TransferSyntaxUID == "" {
		ri.TransferSyntaxUID = "1.2.840.10008.1.2"
	}
	if ri.Path == "" {
		ri.Path = ri.StudyUID + "/" + ri.SOPInstanceUID + ".dcm"
	}
	ri.FileSize, ri.DatasetSize, ri.SHA256 = 1, 1, "sha-"+ri.SOPInstanceUID
	if err := s.IndexInstance(context.Background(), &ri); err != nil {
		t.Fatal(err)
	}
}

type studyRow struct {
	state, frontal, reason string
	settledAfterQuiet      bool
}

func loadStudy(t *testing.T, s *drafts.Store, uid string, quiet time.Duration) studyRow {
	t.Helper()
	var r studyRow
	var fr *string
	err := s.DB().QueryRow(context.Background(), `SELECT state, frontal_sop_instance_uid, view_reason,
		COALESCE(settled_at >= last_received_at + make_interval(secs => $2), false)
		FROM studies WHERE study_uid = $1`, uid, quiet.Seconds()).Scan(&r.state, &fr, &r.reason, &r.settledAfterQuiet)
	if err != nil {
		t.Fatal(err)
	}
	if fr != nil {
		r.frontal = *fr
	}
	return r
}

func jobCount(t *testing.T, s *drafts.Store, uid string) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(context.Background(), `SELECT count(*) FROM river_job
		WHERE kind = 'draft_study' AND args->>'study_uid' = $1 AND state = 'available'`, uid).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSettlerCR: the real CR, whose only view hint is Study Description
// "XR CHEST AP ONLY" in the file, is picked as frontal. The index row here
// carries no description, so the settler reads it from the stored file.
func TestSettlerCR(t *testing.T) {
	s := draftstest.New(t)
	dir := t.TempDir()
	const uid = "1.2.826.0.1.3680043.10.1190.7.1"
	rel := storeCopy(t, testfiles.CR(t), dir, uid+"/cr.dcm")
	index(t, s, ingest.ReceivedInstance{StudyUID: uid, SOPInstanceUID: uid + ".1.1", Path: rel,
		Photometric: "MONOCHROME1", Rows: 2140, Columns: 1760})
	draftstest.MustExec(t, s, `UPDATE studies SET last_received_at = now() - interval '1 minute'`)

	st := &study.Settler{Store: s, StorageDir: dir, Quiet: 30 * time.Second}
	n, err := st.SettleDue(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("settled %d, err %v", n, err)
	}
	r := loadStudy(t, s, uid, 0)
	if r.state != "ready" || r.frontal != uid+".1.1" || r.reason != "Study Description 'XR CHEST AP ONLY'" {
		t.Fatalf("study %+v", r)
	}
	if jobCount(t, s, uid) != 1 {
		t.Fatal("no draft_study job")
	}
}

// TestSettlerRun runs the polling loop with a short quiet period: the study
// settles only once it has been quiet that long, a new instance sends it
// back to receiving and it settles again, with one pending draft job.
func TestSettlerRun(t *testing.T) {
	s := draftstest.New(t)
	const quiet = 700 * time.Millisecond
	const uid = "1.2.826.0.1.3680043.10.1190.7.2"
	st := &study.Settler{Store: s, Quiet: quiet, Interval: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go st.Run(ctx)

	index(t, s, ingest.ReceivedInstance{StudyUID: uid, SOPInstanceUID: uid + ".1.1", ViewPosition: "LL", Rows: 10, Columns: 10})
	time.Sleep(quiet / 2)
	// Second instance before the first would have settled: restarts the quiet period.
	index(t, s, ingest.ReceivedInstance{StudyUID: uid, SOPInstanceUID: uid + ".1.2", StudyDescription: "XR CHEST PA AND LATERAL",
		ViewPosition: "PA", Rows: 10, Columns: 10})
	if r := loadStudy(t, s, uid, quiet); r.state != "receiving" {
		t.Fatalf("settled before the quiet period: %+v", r)
	}
	r := waitState(t, s, uid, "ready", quiet)
	if r.frontal != uid+".1.2" || r.reason != "View Position PA" || !r.settledAfterQuiet {
		t.Fatalf("study %+v", r)
	}
	if jobCount(t, s, uid) != 1 {
		t.Fatal("draft_study job missing")
	}

	// A late AP instance: back to receiving, then ready again; PA still wins.
	index(t, s, ingest.ReceivedInstance{StudyUID: uid, SOPInstanceUID: uid + ".1.3", ViewPosition: "AP", Rows: 20, Columns: 20})
	if r := loadStudy(t, s, uid, quiet); r.state != "receiving" {
		t.Fatalf("late instance did not reopen the study: %+v", r)
	}
	r = waitState(t, s, uid, "ready", quiet)
	if r.frontal != uid+".1.2" || r.reason != "View Position PA; chosen among 2 frontal images (PA over AP)" || !r.settledAfterQuiet {
		t.Fatalf("study after resettling %+v", r)
	}
	if n := jobCount(t, s, uid); n != 1 {
		t.Fatalf("%d pending draft jobs, want 1", n)
	}
}

func waitState(t *testing.T, s *drafts.Store, uid, state string, quiet time.Duration) studyRow {
	t.Helper()
	deadline := time.Now().Add(quiet + 15*time.Second)
	for {
		r := loadStudy(t, s, uid, quiet)
		if r.state == state {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("study still %s, want %s", r.state, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSettlerNeedsView: a study whose only image is lateral waits for a person.
func TestSettlerNeedsView(t *testing.T) {
	s := draftstest.New(t)
	const uid = "1.2.826.0.1.3680043.10.1190.7.3"
	index(t, s, ingest.ReceivedInstance{StudyUID: uid, SOPInstanceUID: uid + ".1.1", ViewCode: "399198007"})
	draftstest.MustExec(t, s, `UPDATE studies SET last_received_at = now() - interval '1 minute'`)
	st := &study.Settler{Store: s, StorageDir: t.TempDir(), Quiet: time.Second}
	if n, err := st.SettleDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("settled %d, err %v", n, err)
	}
	r := loadStudy(t, s, uid, 0)
	want := "needs a view decision: no frontal image identified among 1 image: 1 lateral (View Code Sequence 399198007 (right lateral))"
	if r.state != "needs_view" || r.frontal != "" || r.reason != want {
		t.Fatalf("study %+v", r)
	}
	if jobCount(t, s, uid) != 0 {
		t.Fatal("draft queued without a frontal image")
	}
}

// TestReadHeaders reads the attributes the index has no columns for from a
// file written with suyashkumar/dicom.
func TestReadHeaders(t *testing.T) {
	el := func(tg tag.Tag, v any) *dicom.Element {
		e, err := dicom.NewElement(tg, v)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	ds := dicom.Dataset{Elements: []*dicom.Element{
		el(tag.MediaStorageSOPClassUID, []string{"1.2.840.10008.5.1.4.1.1.1.1"}),
		el(tag.MediaStorageSOPInstanceUID, []string{"1.2.3.4"}),
		el(tag.TransferSyntaxUID, []string{"1.2.840.10008.1.2.1"}),
		el(tag.ProcedureCodeSequence, [][]*dicom.Element{
			{el(tag.CodeValue, []string{"RPID16"}), el(tag.CodeMeaning, []string{"XR CHEST PA"})},
		}),
		el(tag.ProtocolName, []string{"Thorax"}),
		el(tag.AcquisitionDeviceProcessingDescription, []string{"CHEST P.A."}),
		el(tag.RequestedProcedureDescription, []string{"Chest 1 view"}),
		el(tag.ViewCodeSequence, [][]*dicom.Element{
			{el(tag.CodeValue, []string{"399348003"}), el(tag.CodingSchemeDesignator, []string{"SCT"}), el(tag.CodeMeaning, []string{"antero-posterior"})},
		}),
	}}
	var buf bytes.Buffer
	if err := dicom.Write(&buf, ds); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "h.dcm")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := study.ReadHeaders(p)
	if err != nil {
		t.Fatal(err)
	}
	if h.ViewCode != "399348003" || h.ProtocolName != "Thorax" || h.ProcessingDescription != "CHEST P.A." ||
		h.RequestedProcedureDescription != "Chest 1 view" || !slices.Equal(h.ProcedureCodeMeanings, []string{"XR CHEST PA"}) {
		t.Fatalf("headers %+v", h)
	}
	// And from the real CR: only the study description speaks of the view.
	h, err = study.ReadHeaders(testfiles.CR(t))
	if err != nil {
		t.Fatal(err)
	}
	if h.StudyDescription != "XR CHEST AP ONLY" || h.ViewPosition != "" || h.ViewCode != "" {
		t.Fatalf("CR headers %+v", h)
	}
}
