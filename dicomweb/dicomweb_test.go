package dicomweb_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/radraft/radraft/dicom/sr"
	"github.com/radraft/radraft/internal/testfiles"
)

type dataset map[string]struct {
	VR          string            `json:"vr"`
	Value       []json.RawMessage `json:"Value"`
	BulkDataURI string            `json:"BulkDataURI"`
}

func (d dataset) str(tag string) string {
	v := d[tag].Value
	if len(v) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(v[0], &s) == nil {
		return s
	}
	var pn struct{ Alphabetic string }
	if json.Unmarshal(v[0], &pn) == nil && pn.Alphabetic != "" {
		return pn.Alphabetic
	}
	return string(v[0])
}

func (e *env) search(path string) []dataset {
	e.t.Helper()
	r := e.get("radiologist", path, "application/dicom+json")
	if r.StatusCode == http.StatusNoContent {
		return nil
	}
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/dicom+json" {
		b, _ := io.ReadAll(r.Body)
		e.t.Fatalf("GET %s: %d %s %s", path, r.StatusCode, r.Header.Get("Content-Type"), b)
	}
	var out []dataset
	if err := json.NewDecoder(r.Body).Decode(&out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// STOW-RS stores through the C-STORE path and answers per part; QIDO finds
// what was stored by either transport with the standard matching.
func TestStowAndQido(t *testing.T) {
	e := newEnv(t)
	cr := testfiles.CR(t)
	e.storescu(cr) // the original, by C-STORE
	dir := t.TempDir()
	v1 := variant(t, cr, dir, 1, "(0010,0010)=Smith^Anna", "(0008,0020)=20240301", "(0008,0050)=ACC-1", "(0010,0030)=19800101")
	v2 := variant(t, cr, dir, 2, "(0010,0010)=Smithson^Bo", "(0008,0020)=20240415", "(0008,0050)=ACC-2")
	srFile, err := sr.Build(&sr.Document{Kind: sr.Signed, ReportID: "x", Version: 2, StudyUID: "1.2.3.4",
		Findings: "text", Observer: "A^B", Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(v1)
	b2, _ := os.ReadFile(v2)
	ct, body := multipartBody(b1, []byte("this is not DICOM"), b2, srFile)
	req, _ := http.NewRequest("POST", e.http.URL+"/dicomweb/studies", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+e.tokens["radiologist"])
	req.Header.Set("Accept", "application/dicom+json")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var resp map[string]struct {
		Value []dataset `json:"Value"`
	}
	if err := json.NewDecoder(r.Body).Decode(&resp); err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != http.StatusAccepted || len(resp["00081199"].Value) != 2 || len(resp["00081198"].Value) != 2 {
		t.Fatalf("STOW: %d, referenced %d, failed %d", r.StatusCode, len(resp["00081199"].Value), len(resp["00081198"].Value))
	}
	reasons := map[string]bool{}
	for _, f := range resp["00081198"].Value {
		reasons[string(f["00081197"].Value[0])] = true
	}
	if !reasons["49152"] || !reasons["290"] { // C000 not DICOM, 0122 SR class not accepted
		t.Fatalf("failure reasons %v", reasons)
	}
	ref := resp["00081199"].Value[0]
	if ref.str("00081155") != "1.2.826.0.1.3680043.10.1423.96.1.3" || !strings.Contains(ref.str("00081190"), "/dicomweb/studies/1.2.826.0.1.3680043.10.1423.96.1.1/series/") {
		t.Fatalf("referenced %v", ref)
	}
	// Stored as C-STORE stores: the dataset bytes as sent, under the tree.
	stored, err := os.ReadFile(filepath.Join(e.storage, "1.2.826.0.1.3680043.10.1423.96.1.1", "1.2.826.0.1.3680043.10.1423.96.1.2", "1.2.826.0.1.3680043.10.1423.96.1.3.dcm"))
	if err != nil || !bytes.Equal(stored[len(stored)-1000:], b1[len(b1)-1000:]) {
		t.Fatalf("STOW-RS instance not stored as received: %v", err)
	}
	// An identical re-send is a success (a duplicate), as for C-STORE.
	ct, body = multipartBody(b1)
	req, _ = http.NewRequest("POST", e.http.URL+"/dicomweb/studies", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+e.tokens["admin"])
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 {
		t.Fatalf("re-send: %v %v", r.StatusCode, err)
	}

	for _, c := range []struct {
		query string
		want  []string // PatientIDs, in answer order
	}{
		{"/dicomweb/studies", []string{"VAR2", "VAR1", "COVID-19-AR-16406488"}},
		{"/dicomweb/studies?PatientID=VAR1", []string{"VAR1"}},
		{"/dicomweb/studies?PatientName=smith*", []string{"VAR2", "VAR1"}},
		{"/dicomweb/studies?PatientName=Smith%5EA*", []string{"VAR1"}},
		{"/dicomweb/studies?00100010=Smith?on*", []string{"VAR2"}},
		{"/dicomweb/studies?StudyDate=20240101-20240331", []string{"VAR1"}},
		{"/dicomweb/studies?StudyDate=20240401-", []string{"VAR2"}},
		{"/dicomweb/studies?StudyDate=-20231231", []string{"COVID-19-AR-16406488"}},
		{"/dicomweb/studies?StudyDate=20120115", []string{"COVID-19-AR-16406488"}},
		{"/dicomweb/studies?AccessionNumber=ACC-2", []string{"VAR2"}},
		{"/dicomweb/studies?ModalitiesInStudy=CR&limit=2", []string{"VAR2", "VAR1"}},
		{"/dicomweb/studies?ModalitiesInStudy=CR&limit=2&offset=2", []string{"COVID-19-AR-16406488"}},
		{"/dicomweb/studies?ModalitiesInStudy=MR", nil},
		{"/dicomweb/studies?StudyInstanceUID=1.2.826.0.1.3680043.10.1423.96.1.1,1.2.826.0.1.3680043.10.1423.96.2.1", []string{"VAR2", "VAR1"}},
	} {
		var got []string
		for _, d := range e.search(c.query) {
			got = append(got, d.str("00100020"))
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", c.query, got, c.want)
		}
	}
	// includefield adds what is not in the default set.
	if d := e.search("/dicomweb/studies?PatientID=VAR1"); d[0].str("00100030") != "" || d[0]["00081190"].Value == nil || d[0].str("00201208") != "1" {
		t.Errorf("default study attributes: %v", d[0])
	}
	if d := e.search("/dicomweb/studies?PatientID=VAR1&includefield=PatientBirthDate"); d[0].str("00100030") != "19800101" {
		t.Errorf("includefield=PatientBirthDate: %v", d[0])
	}
	if d := e.search("/dicomweb/studies/1.2.826.0.1.3680043.10.1423.96.1.1/series"); len(d) != 1 || d[0].str("00080060") != "CR" {
		t.Errorf("series of a study: %v", d)
	}
	if d := e.search("/dicomweb/instances?PatientID=VAR2&includefield=Rows,Columns"); len(d) != 1 || d[0].str("00280010") != "2140" {
		t.Errorf("instances: %v", d)
	}
	for _, bad := range []string{"?Foo=1", "?StudyDate=2024", "?limit=x", "?StudyInstanceUID=1.2.x", "?includefield=a%20b"} {
		if r := e.get("radiologist", "/dicomweb/studies"+bad, ""); r.StatusCode != 400 {
			t.Errorf("%s: %d", bad, r.StatusCode)
		}
	}
	// Roles as the REST API: readers read, anonymous is 401, admin cannot
	// read PHI, qa_lead cannot store.
	for _, c := range []struct {
		role   string
		method string
		want   int
	}{{"", "GET", 401}, {"admin", "GET", 403}, {"qa_lead", "GET", 200}, {"qa_lead", "POST", 403}, {"", "POST", 401}} {
		req, _ := http.NewRequest(c.method, e.http.URL+"/dicomweb/studies", nil)
		if c.role != "" {
			req.Header.Set("Authorization", "Bearer "+e.tokens[c.role])
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != c.want {
			t.Errorf("%s %s as %q: %d, want %d", c.method, "/dicomweb/studies", c.role, r.StatusCode, c.want)
		}
	}
}

// WADO-RS gives back the stored files byte for byte, the metadata with bulk
// data by URI, frames and rendered images.
func TestWado(t *testing.T) {
	e := newEnv(t)
	cr := testfiles.CR(t)
	e.storescu(cr)
	inst := e.search("/dicomweb/instances")[0]
	url := strings.TrimPrefix(inst.str("00081190"), e.http.URL)
	studyURL := url[:strings.Index(url, "/series/")]
	var stored string
	filepath.Walk(e.storage, func(p string, fi os.FileInfo, err error) error { //nolint:errcheck
		if strings.HasSuffix(p, ".dcm") && !strings.Contains(p, ".tmp") {
			stored = p
		}
		return nil
	})
	want, _ := os.ReadFile(stored)
	for _, p := range []string{url, studyURL} {
		typ, parts := readParts(t, e.get("radiologist", p, `multipart/related; type="application/dicom"; transfer-syntax=*`))
		if typ != "application/dicom" || len(parts) != 1 || !bytes.Equal(parts[0], want) {
			t.Fatalf("%s: type %q, %d parts, same bytes %v", p, typ, len(parts), len(parts) == 1 && bytes.Equal(parts[0], want))
		}
	}
	if r := e.get("radiologist", url, `multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50`); r.StatusCode != 406 {
		t.Errorf("transcoding asked for: %d", r.StatusCode)
	}
	if r := e.get("radiologist", studyURL+"/series/1.2.3/instances/4.5.6", ""); r.StatusCode != 404 {
		t.Errorf("unknown instance: %d", r.StatusCode)
	}
	// Metadata: patient name as a PN object, pixel data by BulkDataURI.
	r := e.get("radiologist", url+"/metadata", "application/dicom+json")
	var md []dataset
	if err := json.NewDecoder(r.Body).Decode(&md); err != nil || len(md) != 1 {
		t.Fatalf("metadata: %v %d", err, len(md))
	}
	if md[0].str("00100010") != "COVID-19-AR-16406488" || md[0]["00280010"].VR != "US" || md[0]["7FE00010"].BulkDataURI == "" {
		t.Fatalf("metadata: name %q rows %v pixel data %+v", md[0].str("00100010"), md[0]["00280010"], md[0]["7FE00010"])
	}
	_, bulk := readParts(t, e.get("radiologist", strings.TrimPrefix(md[0]["7FE00010"].BulkDataURI, e.http.URL), ""))
	if len(bulk) != 1 || len(bulk[0]) != 2140*1760*2 {
		t.Fatalf("pixel bulk data: %d parts", len(bulk))
	}
	typ, frames := readParts(t, e.get("radiologist", url+"/frames/1", ""))
	if typ != "application/octet-stream" || len(frames) != 1 || !bytes.Equal(frames[0], bulk[0]) {
		t.Fatalf("frame 1: %q %d", typ, len(frames))
	}
	if r := e.get("radiologist", url+"/frames/2", ""); r.StatusCode != 404 {
		t.Errorf("frame 2 of 1: %d", r.StatusCode)
	}
	r = e.get("radiologist", url+"/rendered?viewport=512,512", "image/jpeg")
	img, err := jpeg.Decode(r.Body)
	if err != nil || img.Bounds().Dx() > 512 || img.Bounds().Dy() != 512 {
		t.Fatalf("rendered JPEG: %v %v", err, img.Bounds())
	}
	r = e.get("radiologist", url+"/rendered?window=2000,4000", "image/png")
	if _, err := png.Decode(r.Body); err != nil || r.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("rendered PNG: %v", err)
	}
}
