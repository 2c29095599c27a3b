package dicomweb_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// part10 is a preamble, "DICM" and a group 0002 built from elems.
func part10(elems ...[]byte) []byte {
	b := append(make([]byte, 128), "DICM"...)
	for _, e := range elems {
		b = append(b, e...)
	}
	return b
}

func metaUI(elem uint16, v string) []byte {
	if len(v)%2 == 1 {
		v += "\x00"
	}
	b := binary.LittleEndian.AppendUint16(nil, 2)
	b = binary.LittleEndian.AppendUint16(b, elem)
	b = append(b, "UI"...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

// Hostile STOW-RS bodies get per-part failures or a 4xx, never a crash, and
// a large body is streamed to disk: the heap does not grow with it.
func TestStowHostile(t *testing.T) {
	e := newEnv(t)
	post := func(ct string, body io.Reader) (int, map[string]json.RawMessage) {
		req, _ := http.NewRequest("POST", e.http.URL+"/dicomweb/studies", body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+e.tokens["radiologist"])
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var out map[string]json.RawMessage
		json.NewDecoder(r.Body).Decode(&out) //nolint:errcheck
		return r.StatusCode, out
	}
	const sc, inst = "1.2.840.10008.5.1.4.1.1.7", "1.2.826.0.1.3680043.10.1423.95.1"
	// A meta element claiming 2 GB.
	huge := binary.LittleEndian.AppendUint16(nil, 2)
	huge = binary.LittleEndian.AppendUint16(huge, 1)
	huge = append(huge, "OB"...)
	huge = append(huge, 0, 0)
	huge = binary.LittleEndian.AppendUint32(huge, 1<<31)
	for name, p := range map[string][]byte{
		"2 GB meta element": part10(huge),
		"no meta":           part10(),
		"no DICM":           make([]byte, 300),
		"empty":             nil,
	} {
		ct, body := multipartBody(p)
		if st, out := post(ct, body); st != http.StatusConflict || out["00081198"] == nil {
			t.Errorf("%s: %d %s", name, st, out["00081198"])
		}
	}
	for name, ct := range map[string]string{
		"not multipart": "application/dicom",
		"other type":    `multipart/related; type="application/json"; boundary=x`,
		"no boundary":   `multipart/related; type="application/dicom"`,
	} {
		if st, _ := post(ct, bytes.NewReader([]byte("x"))); st != http.StatusUnsupportedMediaType {
			t.Errorf("%s: %d", name, st)
		}
	}
	if st, _ := post(`multipart/related; type="application/dicom"; boundary=x`, bytes.NewReader([]byte("garbage"))); st != http.StatusBadRequest {
		t.Errorf("garbage body: %d", st)
	}

	// 200 MB of dataset behind a valid meta, streamed: it fails to parse
	// (C000), and the server's heap stays far below what was sent.
	const size = 200 << 20
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "application/dicom")
		w, _ := mw.CreatePart(h)
		w.Write(part10(metaUI(0x0002, sc), metaUI(0x0003, inst), metaUI(0x0010, "1.2.840.10008.1.2.1"))) //nolint:errcheck
		io.CopyN(w, zeros{}, size)                                                                       //nolint:errcheck
		pw.CloseWithError(mw.Close())
	}()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	st, out := post(`multipart/related; type="application/dicom"; boundary=`+mw.Boundary(), pr)
	runtime.ReadMemStats(&after)
	if st != http.StatusConflict || out["00081198"] == nil {
		t.Fatalf("200 MB of zeros: %d", st)
	}
	if grown := int64(after.TotalAlloc - before.TotalAlloc); grown > 64<<20 {
		t.Fatalf("allocated %d MB for a %d MB body (client and server together)", grown>>20, size>>20)
	}
	if ents, _ := os.ReadDir(filepath.Join(e.storage, ".tmp")); len(ents) != 0 {
		t.Fatalf("%d files left in .tmp", len(ents))
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
