package dicom

import (
	"errors"
	"strings"
)

// CheckAETitle says whether s can be an Application Entity title (VR AE,
// PS3.5 6.2): 1 to 16 characters, printable ASCII without backslash, no
// leading or trailing spaces (they are padding on the wire).
func CheckAETitle(s string) error {
	if s == "" || len(s) > 16 || strings.TrimSpace(s) != s ||
		strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r > '~' || r == '\\' }) {
		return errors.New("an AE title is 1-16 printable ASCII characters without backslash or surrounding spaces")
	}
	return nil
}
