// Package testfiles locates the real DICOM files tests and benchmarks use:
// the testdata of the github.com/suyashkumar/dicom module in the module cache
// (4.dcm is a 2140×1760 MONOCHROME1 chest CR, TCIA COVID-19-AR, CC BY 4.0,
// whose only view hint is Study Description "XR CHEST AP ONLY").
package testfiles

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	once  sync.Once
	tdDir string
	tdErr error
)

// DicomModuleTestdata returns the module's testdata folder, downloading the
// module (go mod download) when the cache lacks it.
func DicomModuleTestdata() (string, error) {
	once.Do(func() { tdDir, tdErr = locate() })
	return tdDir, tdErr
}

func locate() (string, error) {
	list := func() (string, error) {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/suyashkumar/dicom").Output()
		return strings.TrimSpace(string(out)), err
	}
	dir, err := list()
	if err != nil || dir == "" {
		if out, derr := exec.Command("go", "mod", "download", "github.com/suyashkumar/dicom").CombinedOutput(); derr != nil {
			return "", fmt.Errorf("locate github.com/suyashkumar/dicom: %v (%v: %s)", err, derr, out)
		}
		if dir, err = list(); err != nil {
			return "", fmt.Errorf("locate github.com/suyashkumar/dicom: %w", err)
		}
	}
	td := filepath.Join(dir, "testdata")
	if _, err := os.Stat(filepath.Join(td, "4.dcm")); err != nil {
		return "", err
	}
	return td, nil
}

// CRPath is the path of the real chest CR (testdata/4.dcm).
func CRPath() (string, error) {
	td, err := DicomModuleTestdata()
	if err != nil {
		return "", err
	}
	return filepath.Join(td, "4.dcm"), nil
}

// CR is CRPath for tests: it ends the test when the file cannot be found.
func CR(t testing.TB) string {
	t.Helper()
	p, err := CRPath()
	if err != nil {
		t.Fatalf("testfiles: %v", err)
	}
	return p
}
