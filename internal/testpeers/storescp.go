package testpeers

import (
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// FreePort returns a TCP port free on 127.0.0.1 at the time of the call.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Storescp runs DCMTK's storescp as AE title "PACS" on a free port of
// 127.0.0.1, writing into dir, until the test ends; it returns the port
// once storescp accepts connections. args are extra storescp options.
func Storescp(t testing.TB, dir string, args ...string) int {
	t.Helper()
	bin := Require(t, "storescp")
	port := FreePort(t)
	cmd := exec.Command(bin, append(append([]string{"-od", dir, "-aet", "PACS"}, args...), strconv.Itoa(port))...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return port
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("storescp did not start listening")
	return 0
}
