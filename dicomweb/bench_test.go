package dicomweb_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/radraft/radraft/internal/testfiles"
)

// BenchmarkWADOInstance retrieves the stored 7.5 MB CR by WADO-RS over
// loopback HTTP (authentication, lookup and audit row included) and reads
// the same file from disk: the ratio of the two is what WADO-RS costs over
// the disk (bench/dicomweb/run.sh measures the same against cat).
func BenchmarkWADOInstance(b *testing.B) {
	e := newEnv(b)
	e.storescu(testfiles.CR(b))
	r := e.get("radiologist", "/dicomweb/instances", "")
	body, _ := io.ReadAll(r.Body)
	s := string(body)
	i := strings.Index(s, e.http.URL)
	url := s[i : i+strings.Index(s[i:], `"`)]
	var path string
	filepath.Walk(e.storage, func(p string, fi os.FileInfo, err error) error { //nolint:errcheck
		if strings.HasSuffix(p, ".dcm") {
			path = p
		}
		return nil
	})
	b.Run("wado", func(b *testing.B) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens["radiologist"])
		for i := 0; i < b.N; i++ {
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, r.Body)
			r.Body.Close()
			b.SetBytes(n)
		}
	})
	// The fixed cost of any request: token check, index lookup, audit row.
	b.Run("search", func(b *testing.B) {
		req, _ := http.NewRequest("GET", e.http.URL+"/dicomweb/instances", nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens["radiologist"])
		for i := 0; i < b.N; i++ {
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, r.Body) //nolint:errcheck
			r.Body.Close()
		}
	})
	b.Run("file", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, f)
			f.Close()
			b.SetBytes(n)
		}
	})
}
