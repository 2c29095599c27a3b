package archtest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is the project's limit on a function's length (docs/ARCHITECTURE.md
// standards: "functions under ~80 lines unless a comment says why"), counted
// as the line span from the func keyword to the closing brace.
const maxFuncLines = 80

// wholeMarker is the phrase a longer function's doc comment must contain,
// in a sentence saying why it is kept in one piece (a wire-format parser's
// single switch, a hot per-pixel loop, an ordered durability sequence).
// It may be broken across comment lines: spacing is not compared.
const wholeMarker = "one piece"

// longFunctions returns "path:line name (n lines)" for every function
// outside test files and the bench/ tree that spans more than maxFuncLines
// lines and whose doc comment lacks wholeMarker.
func longFunctions(t *testing.T) []string {
	var found []string
	fset := token.NewFileSet()
	walkGoFiles(t, func(path, pkg string) error {
		if pkg == "bench" || strings.HasPrefix(pkg, "bench/") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line
			if n <= maxFuncLines || strings.Contains(strings.Join(strings.Fields(fd.Doc.Text()), " "), wholeMarker) {
				continue
			}
			found = append(found, fmt.Sprintf("%s/%s:%d %s (%d lines)",
				pkg, filepath.Base(path), fset.Position(fd.Pos()).Line, fd.Name.Name, n))
		}
		return nil
	})
	return found
}

func TestFunctionLength(t *testing.T) {
	for _, f := range longFunctions(t) {
		t.Errorf("%s: over %d lines; split it into named steps, or say in its doc comment why it is kept in %q",
			f, maxFuncLines, wholeMarker)
	}
}
