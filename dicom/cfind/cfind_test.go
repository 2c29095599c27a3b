package cfind

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/internal/testpeers"
)

// identifier makes a request identifier the way findscu does: DCMTK's
// dump2dcm from a dump, written without meta in ts.
func identifier(t *testing.T, ts string, lines ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	dump := filepath.Join(dir, "q.dump")
	if err := os.WriteFile(dump, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "q.dcm")
	xfer := "+te"
	if ts == dicom.ImplicitVRLittleEndian {
		xfer = "+ti"
	}
	if b, err := exec.Command(testpeers.Require(t, "dump2dcm"), "-F", xfer, dump, out).CombinedOutput(); err != nil {
		t.Fatalf("dump2dcm: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeAndEncode(t *testing.T) {
	for _, ts := range []string{dicom.ImplicitVRLittleEndian, dicom.ExplicitVRLittleEndian} {
		id := identifier(t, ts,
			`(0008,0052) CS [STUDY]`, `(0010,0010) PN [Smith*]`, `(0008,0020) DA [20240101-20240331]`,
			`(0020,000d) UI []`, `(0010,0020) LO []`, `(0008,0061) CS [CR]`, `(0020,1208) IS []`)
		req, err := Decode(bytes.NewReader(id), ts)
		if err != nil {
			t.Fatalf("%s: %v", ts, err)
		}
		q := req.Query
		if q.Level != "STUDY" || q.PatientName != "Smith%" || q.Modality != "CR" || q.DateFrom == nil ||
			q.DateTo.Format("20060102") != "20240331" || q.PatientID != "" {
			t.Fatalf("%s: query %+v", ts, q)
		}
		out, err := req.Encode(Record{tag.StudyInstanceUID: "1.2.3", tag.PatientName: "Smith^Anna", tag.PatientID: "P1",
			tag.ModalitiesInStudy: `CR\DX`, tag.NumberOfStudyRelatedInstances: "2", tag.StudyDescription: "not asked"}, ts)
		if err != nil {
			t.Fatal(err)
		}
		els, err := parse(out, ts)
		if err != nil {
			t.Fatal(err)
		}
		got := map[tag.Tag]string{}
		for _, el := range els {
			if s, ok := el.Value.GetValue().([]string); ok {
				got[el.Tag] = strings.Join(s, `\`)
			}
		}
		want := map[tag.Tag]string{tLevel: "STUDY", tCharset: "ISO_IR 192", tag.StudyInstanceUID: "1.2.3", tag.PatientName: "Smith^Anna",
			tag.PatientID: "P1", tag.ModalitiesInStudy: `CR\DX`, tag.NumberOfStudyRelatedInstances: "2", tag.StudyDate: ""}
		if len(got) != len(want) {
			t.Fatalf("%s: answered %v", ts, got)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %v = %q, want %q", ts, k, got[k], v)
			}
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	ts := dicom.ExplicitVRLittleEndian
	for name, c := range map[string]struct {
		lines []string
		want  error
	}{
		"IMAGE level":       {[]string{`(0008,0052) CS [IMAGE]`}, ErrLevel},
		"no level":          {[]string{`(0010,0010) PN [A*]`}, ErrLevel},
		"unindexed key":     {[]string{`(0008,0052) CS [STUDY]`, `(0008,1030) LO [CHEST]`}, ErrUnsupported},
		"bad date":          {[]string{`(0008,0052) CS [STUDY]`, `(0008,0020) DA [2024]`}, ErrIdentifier},
		"return-only is ok": {[]string{`(0008,0052) CS [SERIES]`, `(0008,1030) LO []`}, nil},
	} {
		_, err := Decode(bytes.NewReader(identifier(t, ts, c.lines...)), ts)
		if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if _, err := Decode(bytes.NewReader([]byte("garbage!")), ts); err == nil {
		t.Errorf("garbage: %v", err)
	}
	if _, err := Decode(bytes.NewReader(make([]byte, MaxIdentifier+10)), ts); !errors.Is(err, ErrIdentifier) {
		t.Errorf("oversized: %v", err)
	}
}
