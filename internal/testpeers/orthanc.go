package testpeers

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// OrthancDICOMweb is the Debian orthanc-dicomweb plugin.
const OrthancDICOMweb = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"

// Orthanc runs a throwaway Orthanc until the test ends: storage in a temp
// dir, HTTP on a free port reachable from loopback only, no
// authentication, the DICOM listener on a free port (AE title ORTHANC) when
// dicom is set. extra is merged into its configuration (plugins, DICOMweb
// servers). It returns the HTTP base URL and the DICOM port (0 without).
//
// Orthanc is a peer of the benchmarks, which scripts/install-deps.sh does
// not install: tests that use it skip where it is absent.
func Orthanc(t testing.TB, dicom bool, extra map[string]any) (string, int) {
	t.Helper()
	bin, err := exec.LookPath("Orthanc")
	if err != nil {
		t.Skip("Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)")
	}
	dir := t.TempDir()
	port, dport := FreePort(t), 0
	cfg := map[string]any{
		"Name": "radraft-test", "StorageDirectory": filepath.Join(dir, "db"), "IndexDirectory": filepath.Join(dir, "db"),
		"HttpPort": port, "RemoteAccessAllowed": false, "AuthenticationEnabled": false, "DicomServerEnabled": dicom,
	}
	if dicom {
		dport = FreePort(t)
		cfg["DicomPort"], cfg["DicomAet"] = dport, "ORTHANC"
	}
	for k, v := range extra {
		cfg[k] = v
	}
	b, _ := json.Marshal(cfg)
	path := filepath.Join(dir, "orthanc.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, path)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for i := 0; i < 300; i++ {
		if r, err := http.Get(url + "/system"); err == nil {
			r.Body.Close()
			return url, dport
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("Orthanc did not start")
	return "", 0
}
