package dicomweb_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/radraft/radraft/internal/testfiles"
	"github.com/radraft/radraft/internal/testpeers"
)

// orthanc is a throwaway Orthanc with its DICOMweb plugin configured to
// use radraft's /dicomweb as the remote server "radraft", authenticated by
// bearer token.
type orthanc struct {
	t   *testing.T
	url string
}

func startOrthanc(t *testing.T, radraftURL, token string) *orthanc {
	testpeers.RequireFile(t, testpeers.OrthancDICOMweb, "Debian orthanc-dicomweb")
	url, _ := testpeers.Orthanc(t, false, map[string]any{
		"Plugins": []string{testpeers.OrthancDICOMweb},
		"DicomWeb": map[string]any{"Enable": true, "Root": "/dicom-web/", "Servers": map[string]any{
			"radraft": map[string]any{"Url": radraftURL + "/dicomweb/", "HttpHeaders": map[string]string{"Authorization": "Bearer " + token}},
		}},
	})
	return &orthanc{t: t, url: url}
}

// call does an Orthanc REST call and decodes its JSON answer into out.
func (o *orthanc) call(method, path string, body []byte, out any) {
	o.t.Helper()
	req, _ := http.NewRequest(method, o.url+path, bytes.NewReader(body))
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode/100 != 2 {
		o.t.Fatalf("Orthanc %s %s: %d %s", method, path, r.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			o.t.Fatalf("Orthanc %s %s: %v in %s", method, path, err, b)
		}
	}
}

func js(v any) []byte { b, _ := json.Marshal(v); return b }

// Orthanc's DICOMweb client against radraft: it queries (QIDO-RS),
// retrieves a study (WADO-RS) into its own store byte for byte, and sends
// (STOW-RS) an instance that radraft then stores and indexes.
func TestOrthancAsClient(t *testing.T) {
	e := newEnv(t)
	cr := testfiles.CR(t)
	e.storescu(cr)
	o := startOrthanc(t, e.http.URL, e.tokens["radiologist"])

	// QIDO-RS through Orthanc.
	var found []map[string]json.RawMessage
	o.call("POST", "/dicom-web/servers/radraft/qido", js(map[string]any{
		"Uri": "/studies", "Arguments": map[string]string{"PatientName": "COVID*", "StudyDate": "20120101-20121231"}}), &found)
	if len(found) != 1 || !strings.Contains(string(found[0]["0020000D"]), "Value") {
		t.Fatalf("QIDO through Orthanc: %d studies", len(found))
	}
	// Orthanc answers in its own form: {"Name": ..., "Value": "..."}.
	var studyVal struct{ Name, Value string }
	json.Unmarshal(found[0]["0020000D"], &studyVal) //nolint:errcheck
	study := studyVal.Value
	if studyVal.Name != "StudyInstanceUID" || study == "" {
		t.Fatalf("QIDO through Orthanc: %s", found[0]["0020000D"])
	}

	// WADO-RS: Orthanc retrieves the study into its own store.
	o.call("POST", "/dicom-web/servers/radraft/retrieve", js(map[string]any{"Resources": []map[string]string{{"Study": study}}}), nil)
	var ids []string
	o.call("GET", "/instances", nil, &ids)
	if len(ids) != 1 {
		t.Fatalf("Orthanc holds %d instances after the retrieve", len(ids))
	}
	req, _ := http.NewRequest("GET", o.url+"/instances/"+ids[0]+"/file", nil)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r.Body)
	r.Body.Close()
	want, _ := os.ReadFile(cr)
	// Orthanc rewrites the file meta (its own implementation UID); the
	// dataset must be identical: compare the last 7 MB (pixel data included).
	if len(got) < 7<<20 || !bytes.Equal(got[len(got)-7<<20:], want[len(want)-7<<20:]) {
		t.Fatalf("retrieved file differs (%d bytes vs %d)", len(got), len(want))
	}

	// STOW-RS from Orthanc: upload a variant into Orthanc, then send it.
	v := variant(t, cr, t.TempDir(), 7, "(0010,0010)=Stow^From^Orthanc")
	vb, _ := os.ReadFile(v)
	var up struct{ ID string }
	o.call("POST", "/instances", vb, &up)
	o.call("POST", "/dicom-web/servers/radraft/stow", js(map[string]any{"Resources": []string{up.ID}}), nil)
	if d := e.search("/dicomweb/studies?PatientID=VAR7"); len(d) != 1 || d[0].str("00100010") != "Stow^From^Orthanc" {
		t.Fatalf("after Orthanc's STOW-RS radraft finds %v", d)
	}
	// And the drafting pipeline sees it like any C-STORE'd instance.
	if n := e.countRows(`SELECT count(*) FROM instances i JOIN studies s USING (study_uid) WHERE s.patient_id='VAR7' AND s.state='receiving'`); n != 1 {
		t.Fatalf("STOW'd instance indexed into a receiving study: %d", n)
	}
}
