// Package archtest holds the import rules of docs/ARCHITECTURE.md as a test:
// a forbidden import fails the build's tests, so the package walls stay
// where the document draws them.
package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/radraft/radraft/"

// rule: packages matching From (but not Except) must not import anything
// matching one of Not. A pattern "x/..." matches x and everything below it.
type rule struct {
	From   []string
	Except []string
	Not    []string
	Why    string
}

// store are the packages that speak SQL: the core store, the stores split
// from it, their shared executor and the schema.
var store = []string{"drafts/...", "auth/...", "audit/...", "qa/...", "internal/pgexec/...", "migrations/..."}

var rules = []rule{
	{From: []string{"inference/...", "chexprompt/...", "sentences/...", "dicom/ul/...", "dicom/dimse/...", "dicom/pixels/..."},
		Not: []string{"drafts/...", "workflow/...", "server/...", "hl7/...", "cmd/...", "github.com/jackc/pgx/...", "github.com/riverqueue/..."},
		Why: "libraries know nothing of the database, jobs or transports"},
	{From: []string{"dicom/..."}, Not: []string{"drafts/...", "workflow/...", "server/...", "hl7/..."},
		Why: "dicom must not know about drafts"},
	{From: []string{"hl7/..."}, Not: []string{"dicom/...", "server/...", "workflow/..."},
		Why: "hl7 must not know about DICOM or HTTP"},
	{From: []string{"drafts/...", "qa/...", "migrations/..."}, Not: []string{"server/...", "dicom/...", "hl7/...", "workflow/...", "inference/...", "cmd/..."},
		Why: "the domain depends on nothing above it"},
	{From: []string{"workflow/..."}, Not: []string{"server/...", "hl7/...", "dicom/ul/...", "dicom/scp/...", "cmd/..."},
		Why: "jobs speak no transport"},
	{From: []string{"server/..."}, Not: []string{"github.com/jackc/pgx/...", "github.com/riverqueue/...", "dicom/ul/...", "dicom/dimse/..."},
		Why: "server must not speak SQL or DIMSE"},
	{From: []string{"auth/...", "audit/...", "internal/pgexec/..."}, Not: []string{"drafts/...", "server/...", "dicom/...", "dicomweb/...", "hl7/...", "workflow/...", "inference/...", "srout/...", "cmd/..."},
		Why: "the stores split from drafts sit below it and know no transport"},
	{From: []string{"..."}, Except: store, Not: []string{"github.com/jackc/pgx/..."},
		Why: "only the store speaks SQL"},
	{From: []string{"internal/lifecycle/...", "internal/netserve/..."},
		Not: []string{"drafts/...", "auth/...", "audit/...", "qa/...", "server/...", "dicom/...", "dicomweb/...", "hl7/...",
			"workflow/...", "inference/...", "chexprompt/...", "sentences/...", "srout/...", "migrations/...", "cmd/..."},
		Why: "how parts start, stop and serve connections knows no part"},
	{From: []string{"..."}, Not: []string{"cmd/..."}, Why: "nothing imports the binary"},
	{From: []string{"ingest/..."}, Not: []string{"drafts/...", "dicom/...", "server/...", "hl7/...", "workflow/...", "auth/...", "qa/...", "audit/...", "github.com/jackc/pgx/..."},
		Why: "ingest is plain types between DICOM and the store"},
}

// exempt are where a rule is allowed not to hold: the wiring, benchmarks and
// the store's own test helpers.
var exempt = []string{"cmd/...", "bench/...", "drafts/...", "migrations/..."}

// known are violations allowed while they are being removed; the test
// fails when one disappears, so the list only shrinks. It is empty: the
// DICOM packages reach the store through ingest's types and their own
// interfaces (scp.Index, study.SettleStore).
var known = map[string]bool{}

func match(pattern, pkg string) bool {
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

func matchAny(patterns []string, pkg string) bool {
	for _, p := range patterns {
		if match(p, pkg) {
			return true
		}
	}
	return false
}

// imports maps each package of the module (path relative to the module) to
// what its non-test files import (module-relative for the module's own).
func imports(t *testing.T) map[string][]string {
	out := map[string][]string{}
	fset := token.NewFileSet()
	walkGoFiles(t, func(path, pkg string) error {
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			p = strings.TrimPrefix(p, module)
			out[pkg] = append(out[pkg], p)
		}
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
		return nil
	})
	return out
}

// walkGoFiles calls fn with each non-test Go file of the module and its
// package's path relative to the module root (testdata, node_modules and
// dot folders skipped).
func walkGoFiles(t *testing.T, fn func(path, pkg string) error) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "node_modules" || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		return fn(path, filepath.ToSlash(rel))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestImportRules(t *testing.T) {
	all := imports(t)
	if len(all) < 10 {
		t.Fatalf("found only %d packages", len(all))
	}
	seen := map[string]bool{}
	pkgs := make([]string, 0, len(all))
	for p := range all {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		for _, imp := range all[pkg] {
			for _, r := range rules {
				if !matchAny(r.From, pkg) || matchAny(r.Except, pkg) || !matchAny(r.Not, imp) {
					continue
				}
				if matchAny(exempt, pkg) && !matchAny([]string{"cmd/..."}, imp) {
					continue
				}
				key := pkg + " -> " + strings.SplitN(imp, "/", 2)[0]
				if strings.HasPrefix(imp, "github.com/") {
					key = pkg + " -> " + imp
				}
				if known[key] {
					seen[key] = true
					continue
				}
				t.Errorf("%s imports %s: %s", pkg, imp, r.Why)
			}
		}
	}
	for k := range known {
		if !seen[k] {
			t.Errorf("known violation %q is gone: remove it from the list", k)
		}
	}
}

// TestRulesCatch makes sure the rules see a violation when one exists.
func TestRulesCatch(t *testing.T) {
	for _, c := range []struct{ from, imp string }{
		{"inference", "drafts"}, {"chexprompt", "github.com/jackc/pgx/v5"}, {"server", "github.com/riverqueue/river"},
		{"hl7", "dicom/scp"}, {"drafts", "server"}, {"audit", "drafts"}, {"dicomweb", "github.com/jackc/pgx/v5"}, {"qa", "server"},
	} {
		hit := false
		for _, r := range rules {
			if matchAny(r.From, c.from) && !matchAny(r.Except, c.from) && matchAny(r.Not, c.imp) {
				hit = true
			}
		}
		if !hit {
			t.Errorf("%s -> %s is not forbidden", c.from, c.imp)
		}
	}
}
