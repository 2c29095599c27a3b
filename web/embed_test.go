package web

import (
	"io/fs"
	"testing"
)

func TestAssetsHasPlaceholderOrIndex(t *testing.T) {
	if Built() {
		if _, err := fs.ReadFile(Assets(), "index.html"); err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := fs.Stat(Assets(), Placeholder); err != nil {
		t.Fatalf("neither index.html nor %s in dist: %v", Placeholder, err)
	}
}
