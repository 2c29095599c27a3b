package drafts_test

import (
	"context"
	"errors"
	"testing"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/ingest"
)

func received(sop string) *ingest.ReceivedInstance {
	return &ingest.ReceivedInstance{
		StudyUID: "1.2.3", SeriesUID: "1.2.3.4", SOPInstanceUID: sop, SOPClassUID: "1.2.840.10008.5.1.4.1.1.1",
		TransferSyntaxUID: "1.2.840.10008.1.2.1", Path: "1.2.3/1.2.3.4/" + sop + ".dcm", FileSize: 100, DatasetSize: 80,
		SHA256: "ab", CallingAE: "MOD", StudyDate: "20240131", Modality: "CR", ViewPosition: "PA", ViewCode: "272479007",
		Photometric: "MONOCHROME1", Rows: 10, Columns: 12,
	}
}

func TestIndexInstance(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	first := received("1.2.3.4.1")
	first.PatientName = "DOE^JANE"
	if err := s.IndexInstance(ctx, first); err != nil {
		t.Fatal(err)
	}
	// A second instance fills empty study fields, keeps set ones.
	second := received("1.2.3.4.2")
	second.PatientName = "OTHER^NAME"
	second.AccessionNumber = "ACC1"
	second.Indication, second.IndicationSource = "cough", "ReasonForTheRequestedProcedure"
	if err := s.IndexInstance(ctx, second); err != nil {
		t.Fatal(err)
	}
	var name, acc, ind, src, state, date string
	var count int
	if err := s.DB().QueryRow(ctx, `SELECT patient_name, accession_number, dicom_indication, dicom_indication_source,
		state, instance_count, study_date::text FROM studies WHERE study_uid = '1.2.3'`).
		Scan(&name, &acc, &ind, &src, &state, &count, &date); err != nil {
		t.Fatal(err)
	}
	if name != "DOE^JANE" || acc != "ACC1" || ind != "cough" || src != "ReasonForTheRequestedProcedure" ||
		state != "receiving" || count != 2 || date != "2024-01-31" {
		t.Errorf("study: %q %q %q %q %q %d %q", name, acc, ind, src, state, count, date)
	}
	// The same SOP instance again changes nothing.
	if err := s.IndexInstance(ctx, received("1.2.3.4.1")); !errors.Is(err, drafts.ErrInstanceExists) {
		t.Fatalf("repeat: %v", err)
	}
	// The same series under another study is refused, changing nothing.
	moved := received("1.2.3.4.9")
	moved.StudyUID = "1.2.9"
	if err := s.IndexInstance(ctx, moved); !errors.Is(err, ingest.ErrSeriesInOtherStudy) {
		t.Fatalf("series under another study: %v", err)
	}
	var studies int
	s.DB().QueryRow(ctx, `SELECT count(*) FROM studies`).Scan(&studies) //nolint:errcheck
	if studies != 1 {
		t.Errorf("%d studies after a refused instance", studies)
	}
	var audits int
	s.DB().QueryRow(ctx, `SELECT instance_count FROM studies`).Scan(&count)                                //nolint:errcheck
	s.DB().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'instance.receive'`).Scan(&audits) //nolint:errcheck
	if count != 2 || audits != 2 {
		t.Errorf("after a repeat: instance_count %d, audit rows %d", count, audits)
	}
	// A settled (or ready, needs_view) study goes back to receiving.
	for _, st := range []string{"settled", "needs_view", "ready", "drafted"} {
		draftstest.MustExec(t, s, `UPDATE studies SET state = $1`, st)
		if err := s.IndexInstance(ctx, received("1.2.3.4.9."+st[:1]+"1")); err != nil {
			t.Fatal(err)
		}
		s.DB().QueryRow(ctx, `SELECT state FROM studies`).Scan(&state) //nolint:errcheck
		want := "receiving"
		if st == "drafted" {
			want = "drafted"
		}
		if state != want {
			t.Errorf("new instance in a %s study: state %s, want %s", st, state, want)
		}
	}
	si, err := s.LookupInstance(ctx, "1.2.3.4.1")
	if err != nil || si == nil || si.SHA256 != "ab" || si.Path != "1.2.3/1.2.3.4/1.2.3.4.1.dcm" {
		t.Fatalf("lookup: %+v %v", si, err)
	}
	if si, err := s.LookupInstance(ctx, "9.9"); si != nil || err != nil {
		t.Fatalf("lookup of an unknown instance: %+v %v", si, err)
	}
	if err := s.RecordDuplicate(ctx, "1.2.3.4.1"); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordConflict(ctx, ingest.InstanceConflict{SOPInstanceUID: "1.2.3.4.1", Path: ".conflicts/x.dcm", SHA256: "cd", FileSize: 5}); err != nil {
		t.Fatal(err)
	}
	var dups, conflicts int
	s.DB().QueryRow(ctx, `SELECT duplicate_count FROM instances WHERE sop_instance_uid = '1.2.3.4.1'`).Scan(&dups) //nolint:errcheck
	s.DB().QueryRow(ctx, `SELECT count(*) FROM instance_conflicts`).Scan(&conflicts)                               //nolint:errcheck
	if dups != 1 || conflicts != 1 {
		t.Errorf("duplicates %d, conflicts %d", dups, conflicts)
	}
	var vp, vc, ph string
	var rows, cols int
	s.DB().QueryRow(ctx, `SELECT view_position, view_code, photometric, rows_, columns_ FROM instances
		WHERE sop_instance_uid = '1.2.3.4.2'`).Scan(&vp, &vc, &ph, &rows, &cols) //nolint:errcheck
	if vp != "PA" || vc != "272479007" || ph != "MONOCHROME1" || rows != 10 || cols != 12 {
		t.Errorf("instance facts: %q %q %q %d %d", vp, vc, ph, rows, cols)
	}
}
