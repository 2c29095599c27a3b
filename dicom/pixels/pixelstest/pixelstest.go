// Package pixelstest locates the real DICOM files tests use: the testdata of
// the github.com/suyashkumar/dicom module (4.dcm is a 2140x1760 MONOCHROME1
// chest CR whose only view hint is Study Description "XR CHEST AP ONLY").
package pixelstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// DicomModuleTestdata returns the testdata folder of the suyashkumar/dicom
// module in the module cache (downloading it if needed, through `go mod
// download`).
func DicomModuleTestdata() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/suyashkumar/dicom").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		if _, derr := exec.Command("go", "mod", "download", "github.com/suyashkumar/dicom").Output(); derr != nil {
			return "", fmt.Errorf("locate github.com/suyashkumar/dicom: %v", err)
		}
		out, err = exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/suyashkumar/dicom").Output()
		if err != nil {
			return "", fmt.Errorf("locate github.com/suyashkumar/dicom: %w", err)
		}
		dir = strings.TrimSpace(string(out))
	}
	td := filepath.Join(dir, "testdata")
	if _, err := os.Stat(filepath.Join(td, "4.dcm")); err != nil {
		return "", err
	}
	return td, nil
}

// CR returns the path of the module's real chest CR (testdata/4.dcm).
func CR(t testing.TB) string {
	t.Helper()
	td, err := DicomModuleTestdata()
	if err != nil {
		t.Fatalf("pixelstest: %v", err)
	}
	return filepath.Join(td, "4.dcm")
}
