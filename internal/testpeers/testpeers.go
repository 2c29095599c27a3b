// Package testpeers finds the outside programs tests talk to (DCMTK's
// storescu/echoscu, python3-hl7's mllp_send, chromium, Debian's python3).
// When RADRAFT_REQUIRE_PEERS=1 (scripts/test.sh and CI set it, after
// installing them) a missing program fails the test; otherwise it skips.
package testpeers

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Require returns the path of program, or ends the test.
func Require(t testing.TB, program string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err == nil {
		return p
	}
	if os.Getenv("RADRAFT_REQUIRE_PEERS") == "1" {
		t.Fatalf("%s is not installed (scripts/install-deps.sh installs it)", program)
	}
	t.Skipf("%s is not installed; run through scripts/test.sh", program)
	return ""
}

// DebianPython is the interpreter that has Debian's python3-torch, -onnx,
// -sentencepiece, -pil and -hl7 (a pyenv python3 earlier on PATH does not).
func DebianPython(t testing.TB) string {
	t.Helper()
	const p = "/usr/bin/python3"
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return Require(t, "python3")
}

// RequirePython returns Debian's interpreter once it can import every one of
// modules, or ends the test (failing under RADRAFT_REQUIRE_PEERS=1).
func RequirePython(t testing.TB, modules ...string) string {
	t.Helper()
	py := DebianPython(t)
	out, err := exec.Command(py, "-c", "import "+strings.Join(modules, ", ")).CombinedOutput()
	if err == nil {
		return py
	}
	msg := fmt.Sprintf("python modules %v not importable (scripts/install-deps.sh installs them): %s", modules, strings.TrimSpace(string(out)))
	if os.Getenv("RADRAFT_REQUIRE_PEERS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
