// Package scptest makes test inputs for DICOM ingest: the real CR from
// github.com/suyashkumar/dicom's testdata, and copies of it with fresh UIDs
// (for many-instance tests and the ingest benchmark).
package scptest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/radraft/radraft/internal/testfiles"
)

// CRPath returns the path of testdata/4.dcm of github.com/suyashkumar/dicom
// (a de-identified chest CR, 7.5 MB, Implicit VR Little Endian).
func CRPath() (string, error) { return testfiles.CRPath() }

// The UIDs of 4.dcm (each 64 characters long).
const (
	crSOPInstanceUID = "1.3.6.1.4.1.14519.5.2.1.9999.103.3006616233530892121079169089013"
	crStudyUID       = "1.3.6.1.4.1.14519.5.2.1.9999.103.2445110399502685110179049624124"
	crSeriesUID      = "1.3.6.1.4.1.14519.5.2.1.9999.103.2226892066207840840424092100046"
)

// Copy is one generated file.
type Copy struct {
	Path                                string
	SOPInstanceUID, StudyUID, SeriesUID string
}

// NewUID returns a random UID of exactly n characters (n > 32) under
// radraft's test root.
func NewUID(n int) string {
	const root = "1.2.826.0.1.3680043.10.1423.9."
	digits := n - len(root)
	var b strings.Builder
	b.WriteString(root)
	for i := 0; i < digits; i++ {
		lo := int64(0)
		if i == 0 {
			lo = 1
		}
		d, _ := rand.Int(rand.Reader, big.NewInt(10-lo))
		b.WriteByte(byte('0' + lo + d.Int64()))
	}
	return b.String()
}

// WriteCRCopies writes n copies of 4.dcm into dir, each with a new SOP
// Instance UID and its own study and series. The UIDs are replaced in place
// by UIDs of the same length, so every element keeps its length and the
// files stay valid: the only change from 4.dcm is those three UIDs.
func WriteCRCopies(dir string, n int) ([]Copy, error) {
	src, err := CRPath()
	if err != nil {
		return nil, err
	}
	orig, err := os.ReadFile(src)
	if err != nil {
		return nil, err
	}
	type span struct{ off, which int }
	var spans []span
	for which, u := range []string{crSOPInstanceUID, crStudyUID, crSeriesUID} {
		for off := 0; ; {
			i := bytes.Index(orig[off:], []byte(u))
			if i < 0 {
				break
			}
			spans = append(spans, span{off + i, which})
			off += i + len(u)
		}
	}
	if len(spans) < 4 {
		return nil, fmt.Errorf("scptest: %s does not hold the expected UIDs", src)
	}
	buf := make([]byte, len(orig))
	copy(buf, orig)
	out := make([]Copy, 0, n)
	for i := 0; i < n; i++ {
		c := Copy{SOPInstanceUID: NewUID(64), StudyUID: NewUID(64), SeriesUID: NewUID(64)}
		uids := []string{c.SOPInstanceUID, c.StudyUID, c.SeriesUID}
		for _, s := range spans {
			copy(buf[s.off:], uids[s.which])
		}
		c.Path = filepath.Join(dir, fmt.Sprintf("cr%04d.dcm", i))
		if err := os.WriteFile(c.Path, buf, 0o644); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
