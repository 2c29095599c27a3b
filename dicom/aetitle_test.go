package dicom

import "testing"

func TestCheckAETitle(t *testing.T) {
	for ae, ok := range map[string]bool{
		"RADRAFT": true, "A": true, "SIXTEEN_CHARS_OK": true, "WITH SPACE": true,
		"": false, "SEVENTEEN_CHARS_X": false, " LEAD": false, "TRAIL ": false, `BACK\SLASH`: false, "TAB\tX": false, "ÄE": false,
	} {
		if err := CheckAETitle(ae); (err == nil) != ok {
			t.Errorf("CheckAETitle(%q) = %v, want ok=%v", ae, err, ok)
		}
	}
}
