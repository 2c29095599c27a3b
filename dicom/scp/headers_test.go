package scp_test

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/radraft/radraft/dicom"
)

// dxDataset builds a DX-like dataset with the attributes ingest indexes.
func dxDataset(sop string, reasonForStudy, reasonRequested string) []byte {
	item := elEx(0x0008, 0x0100, "SH", []byte("272479007 "))
	seqItem := binary.LittleEndian.AppendUint16(nil, 0xFFFE)
	seqItem = binary.LittleEndian.AppendUint16(seqItem, 0xE000)
	seqItem = binary.LittleEndian.AppendUint32(seqItem, uint32(len(item)))
	seqItem = append(seqItem, item...)
	var b []byte
	b = append(b, elEx(0x0008, 0x0016, "UI", uiv(dicom.SecondaryCapture))...)
	b = append(b, elEx(0x0008, 0x0018, "UI", uiv(sop))...)
	b = append(b, elEx(0x0008, 0x0020, "DA", []byte("20250102"))...)
	b = append(b, elEx(0x0008, 0x0050, "SH", []byte("ACC-42"))...)
	b = append(b, elEx(0x0008, 0x0060, "CS", []byte("DX"))...)
	b = append(b, elEx(0x0008, 0x1030, "LO", []byte("CHEST 2 VIEWS "))...)
	b = append(b, elEx(0x0010, 0x0010, "PN", []byte("DOE^JOHN"))...)
	b = append(b, elEx(0x0010, 0x0020, "LO", []byte("MRN-1 "))...)
	b = append(b, elEx(0x0018, 0x5101, "CS", []byte("PA"))...)
	b = append(b, elEx(0x0020, 0x000D, "UI", uiv(cpStudy+".5"))...)
	b = append(b, elEx(0x0020, 0x000E, "UI", uiv(cpSeries+".5"))...)
	b = append(b, elEx(0x0020, 0x0062, "CS", []byte("L "))...)
	b = append(b, elEx(0x0028, 0x0004, "CS", []byte("MONOCHROME2 "))...)
	b = append(b, elEx(0x0028, 0x0010, "US", usv(1))...)
	b = append(b, elEx(0x0028, 0x0011, "US", usv(2))...)
	b = append(b, elEx(0x0028, 0x0100, "US", usv(8))...)
	if reasonForStudy != "" {
		b = append(b, elEx(0x0032, 0x1030, "LO", []byte(reasonForStudy))...)
	}
	if reasonRequested != "" {
		b = append(b, elEx(0x0040, 0x1002, "LO", []byte(reasonRequested))...)
	}
	b = append(b, elEx(0x0054, 0x0220, "SQ", seqItem)...)
	b = append(b, elEx(0x7FE0, 0x0010, "OB", []byte{1, 2})...)
	return b
}

// The indexed facts come from the headers: the first non-empty indication
// in order of preference (with its source named), the view code, the view
// position, laterality, photometric and size.
func TestIndexedHeaders(t *testing.T) {
	ts := startServer(t, nil)
	rc := associate(t, ts, "HDRTEST", nil)
	defer rc.Close()
	if st, err := rc.store(3, dicom.SecondaryCapture, cpSOPInst+".51", dxDataset(cpSOPInst+".51", "legacy reason", "fever, cough")); err != nil || st != 0 {
		t.Fatalf("store: %04X %v", st, err)
	}
	ctx := context.Background()
	var ind, src, acc, pid, desc, date string
	if err := ts.store.DB().QueryRow(ctx, `SELECT dicom_indication, dicom_indication_source, accession_number, patient_id,
		study_description, study_date::text FROM studies`).Scan(&ind, &src, &acc, &pid, &desc, &date); err != nil {
		t.Fatal(err)
	}
	if ind != "fever, cough" || src != "ReasonForTheRequestedProcedure" || acc != "ACC-42" || pid != "MRN-1" ||
		desc != "CHEST 2 VIEWS" || date != "2025-01-02" {
		t.Errorf("study: %q %q %q %q %q %q", ind, src, acc, pid, desc, date)
	}
	var vp, vc, lat, ph string
	var rows, cols int
	if err := ts.store.DB().QueryRow(ctx, `SELECT view_position, view_code, image_laterality, photometric, rows_, columns_
		FROM instances`).Scan(&vp, &vc, &lat, &ph, &rows, &cols); err != nil {
		t.Fatal(err)
	}
	if vp != "PA" || vc != "272479007" || lat != "L" || ph != "MONOCHROME2" || rows != 1 || cols != 2 {
		t.Errorf("instance: %q %q %q %q %d %d", vp, vc, lat, ph, rows, cols)
	}
	// Only the legacy Reason for Study: it is used, and named.
	draftstest_MustExec(t, ts.store, `DELETE FROM studies`)
	if st, err := rc.store(3, dicom.SecondaryCapture, cpSOPInst+".52", dxDataset(cpSOPInst+".52", "legacy reason", "")); err != nil || st != 0 {
		t.Fatalf("store: %04X %v", st, err)
	}
	if err := ts.store.DB().QueryRow(ctx, `SELECT dicom_indication, dicom_indication_source FROM studies`).Scan(&ind, &src); err != nil {
		t.Fatal(err)
	}
	if ind != "legacy reason" || src != "ReasonForStudy" {
		t.Errorf("legacy indication: %q from %q", ind, src)
	}
}
