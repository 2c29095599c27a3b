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

// RequireFile returns path when it exists, or ends the test (failing under
// RADRAFT_REQUIRE_PEERS=1); what names the package that installs it.
func RequireFile(t testing.TB, path, what string) string {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if os.Getenv("RADRAFT_REQUIRE_PEERS") == "1" {
		t.Fatalf("%s is not installed (%s; scripts/install-deps.sh installs it)", path, what)
	}
	t.Skipf("%s is not installed (%s); run through scripts/test.sh", path, what)
	return ""
}

// Orthanc runs a throwaway Orthanc until the test ends: storage in a temp
// dir, HTTP on a free port reachable from loopback only, no
// authentication, the DICOM listener on a free port (AE title ORTHANC) when
// dicom is set. extra is merged into its configuration (plugins, DICOMweb
// servers). It returns the HTTP base URL and the DICOM port (0 without).
//
// Orthanc is the third-party PACS and DICOMweb client the DICOMweb and SR
// tests talk to; scripts/install-deps.sh installs it (orthanc,
// orthanc-dicomweb), so under RADRAFT_REQUIRE_PEERS=1 its absence fails.
func Orthanc(t testing.TB, dicom bool, extra map[string]any) (string, int) {
	t.Helper()
	bin := "/usr/sbin/Orthanc" // Debian's; /usr/sbin is not on every user's PATH
	if _, err := os.Stat(bin); err != nil {
		bin = Require(t, "Orthanc")
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
