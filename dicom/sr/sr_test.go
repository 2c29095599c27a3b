package sr_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/radraft/radraft/dicom/sr"
	"github.com/radraft/radraft/internal/testpeers"
)

const studyUID = "1.2.826.0.1.3680043.10.1423.99.1"

func document(kind sr.Kind, version int) *sr.Document {
	d := &sr.Document{
		Kind: kind, ReportID: "0f5a7c1e-9d7b-4d59-9a51-5d1c2f0b7e11", Version: version,
		StudyUID: studyUID, StudyDate: "20260102", StudyTime: "101500", AccessionNumber: "ACC123",
		PatientID: "MRN42", PatientName: "Doe^Jane", PatientBirthDate: "19700101", PatientSex: "F",
		PlacerOrderNumber: "PL1", FillerOrderNumber: "FI1", ProcedureCode: "71045", ProcedureText: "XR CHEST 1 VIEW",
		Findings:   "Heart size normal. No focal consolidation, effusion or pneumothorax. Ünïcødé text survives.",
		Indication: "Cough and fever", IndicationSource: "HL7 order (OBR-31 Reason for Study)",
		Observer: "Smith^Anna", Time: time.Date(2026, 1, 2, 11, 30, 0, 0, time.UTC),
		Evidence: []sr.Ref{{SeriesUID: "1.2.826.0.1.3680043.10.1423.99.2", SOPClassUID: "1.2.840.10008.5.1.4.1.1.1",
			SOPInstanceUID: "1.2.826.0.1.3680043.10.1423.99.3"}},
	}
	switch kind {
	case sr.Amendment:
		d.PredecessorVersion = version - 1
	case sr.AIDraft:
		d.Observer = ""
		d.Device = sr.Device{UID: "2.25.1234567", Name: "LLaVA-Rad", Manufacturer: "radraft", ModelName: "llava-rad 1.0"}
	}
	return d
}

// Every kind of document passes dicom3tools' dciodvfy without an error,
// and DCMTK's dsrdump reads back the content it must carry.
func TestDocumentsValidate(t *testing.T) {
	dciodvfy := testpeers.Require(t, "dciodvfy")
	dsrdump := testpeers.Require(t, "dsrdump")
	dcmdump := testpeers.Require(t, "dcmdump")
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		doc  *sr.Document
		want []string
	}{
		{"signed", document(sr.Signed, 2), []string{"COMPLETE", "VERIFIED", "Smith^Anna", "Heart size normal", "Cough and fever",
			"OBR-31", "Diagnostic Imaging Report", "CurrentRequestedProcedureEvidenceSequence", "1.2.826.0.1.3680043.10.1423.99.3"}},
		{"amended", document(sr.Amendment, 3), []string{"VERIFIED", "PredecessorDocumentsSequence", sr.InstanceUID("0f5a7c1e-9d7b-4d59-9a51-5d1c2f0b7e11", 2)}},
		{"ai-draft", document(sr.AIDraft, 1), []string{"UNVERIFIED", "PRELIMINARY", "Device", "2.25.1234567", "LLaVA-Rad"}},
	} {
		b, err := sr.Build(c.doc)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		path := filepath.Join(dir, c.name+".dcm")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command(dciodvfy, path).CombinedOutput()
		if strings.Contains(string(out), "Error") || !strings.Contains(string(out), "BasicTextSR") {
			t.Errorf("%s: dciodvfy:\n%s", c.name, out)
		} else {
			t.Logf("%s: dciodvfy:\n%s", c.name, out)
		}
		dump, err := exec.Command(dsrdump, "-Dv", "+Pl", "+Pc", "+Pt", path).CombinedOutput()
		// DCMTK's VR checker cannot check UTF-8 strings and says so; any
		// other warning or error fails.
		issues := strings.ReplaceAll(string(dump), "W: The VR checker does not support this Specific Character Set: ISO_IR 192", "")
		if err != nil || strings.Contains(issues, "W: ") || strings.Contains(issues, "E: ") {
			t.Errorf("%s: dsrdump: %v\n%s", c.name, err, dump)
		}
		// The evidence and predecessor references are header attributes,
		// which dsrdump summarises: read them with dcmdump.
		hdr, err := exec.Command(dcmdump, "+L", path).CombinedOutput()
		if err != nil {
			t.Errorf("%s: dcmdump: %v", c.name, err)
		}
		text := string(dump) + string(hdr)
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: %q missing from dsrdump/dcmdump:\n%s", c.name, w, dump)
			}
		}
	}
}

// The UIDs are the report version's: a rebuild is the same SOP instance,
// another version is another.
func TestUIDsStable(t *testing.T) {
	a, b := sr.InstanceUID("r", 2), sr.InstanceUID("r", 2)
	if a != b || a == sr.InstanceUID("r", 3) || len(a) > 64 || !strings.HasPrefix(a, "2.25.") {
		t.Fatalf("UIDs %s %s %s", a, b, sr.InstanceUID("r", 3))
	}
	if sr.SeriesUID("r", false) == sr.SeriesUID("r", true) {
		t.Fatal("AI draft and signed documents share a series")
	}
	x, err := sr.Build(document(sr.Signed, 2))
	if err != nil {
		t.Fatal(err)
	}
	y, _ := sr.Build(document(sr.Signed, 2))
	if string(x) != string(y) {
		t.Fatal("two builds of one version differ")
	}
}

func TestRefusesIncompleteDocuments(t *testing.T) {
	for name, mut := range map[string]func(*sr.Document){
		"no findings":        func(d *sr.Document) { d.Findings = " " },
		"no observer":        func(d *sr.Document) { d.Observer = "" },
		"bad study UID":      func(d *sr.Document) { d.StudyUID = "../etc" },
		"amend without pred": func(d *sr.Document) { d.Kind = sr.Amendment; d.PredecessorVersion = 0 },
		"draft without UID":  func(d *sr.Document) { d.Kind = sr.AIDraft },
	} {
		d := document(sr.Signed, 2)
		mut(d)
		if _, err := sr.Build(d); err == nil {
			t.Errorf("%s: built", name)
		}
	}
}
