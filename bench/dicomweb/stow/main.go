// Command stow sends every file of a directory to a STOW-RS endpoint in one
// multipart/related request, streaming the files from disk (io.Pipe: the
// body is never held in memory), and prints the seconds from the first
// byte sent to the answer. It fails unless every instance is referenced.
//
//	go run ./bench/dicomweb/stow URL TOKEN DIR
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"time"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: stow URL TOKEN DIR")
		os.Exit(2)
	}
	files, _ := filepath.Glob(filepath.Join(os.Args[3], "*"))
	sort.Strings(files)
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for _, f := range files {
			h := textproto.MIMEHeader{}
			h.Set("Content-Type", "application/dicom")
			part, err := mw.CreatePart(h)
			if err == nil {
				err = copyFile(part, f)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	req, _ := http.NewRequest("POST", os.Args[1], pr)
	req.Header.Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+mw.Boundary())
	req.Header.Set("Authorization", "Bearer "+os.Args[2])
	req.Header.Set("Accept", "application/dicom+json")
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stow:", err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	var out map[string]struct{ Value []any }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		fmt.Fprintln(os.Stderr, "stow: answer:", err)
		os.Exit(1)
	}
	secs := time.Since(t0).Seconds()
	if n := len(out["00081199"].Value); resp.StatusCode != 200 || n != len(files) {
		fmt.Fprintf(os.Stderr, "stow: HTTP %d, %d of %d referenced, %d failed\n", resp.StatusCode, n, len(files), len(out["00081198"].Value))
		os.Exit(1)
	}
	fmt.Printf("%.3f\n", secs)
}

func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
