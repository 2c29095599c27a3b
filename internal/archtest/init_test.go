package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"
)

// initAllowed lists the non-test files that may hold an init function,
// each with the reason. Registration, start order and process-wide
// settings belong in explicit wiring (cmd/radraft's parts and commands,
// server.New's route groups), where a reader sees them.
var initAllowed = map[string]string{}

// inits returns the files (relative to the module root) declaring a
// package-level init function, outside test files.
func inits(t *testing.T) []string {
	var found []string
	fset := token.NewFileSet()
	walkGoFiles(t, func(path, pkg string) error {
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if hasInit(f) {
			found = append(found, pkg+"/"+filepath.Base(path))
		}
		return nil
	})
	return found
}

func hasInit(f *ast.File) bool {
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "init" {
			return true
		}
	}
	return false
}

func TestNoInitOutsideAllowlist(t *testing.T) {
	for _, file := range inits(t) {
		if _, ok := initAllowed[file]; !ok {
			t.Errorf("%s declares init(): wire it explicitly (docs/ARCHITECTURE.md, Start order), or add it to initAllowed with the reason", file)
		}
	}
}

// TestHasInitCatches proves the check can fail: it finds an init function
// and ignores a method of that name.
func TestHasInitCatches(t *testing.T) {
	for src, want := range map[string]bool{
		"package p\nfunc init() { register() }\n":          true,
		"package p\ntype T struct{}\nfunc (T) init() {}\n": false,
		"package p\nfunc initialise() {}\n":                false,
	} {
		f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := hasInit(f); got != want {
			t.Errorf("hasInit(%q) = %v, want %v", src, got, want)
		}
	}
}
