// Package testserve runs the real radraft binary for tests that need the
// whole process (kill -9 durability, end-to-end through real peers): it
// builds cmd/radraft once per test binary, hands out free loopback ports,
// and starts `radraft serve`, waiting until a given listener answers.
package testserve

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/radraft from this checkout, once per test process, into
// a temporary folder that Main removes.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "radraft-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "radraft")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", binPath, "github.com/radraft/radraft/cmd/radraft").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Main runs the tests and removes the binary Binary built; call it from
// TestMain: func TestMain(m *testing.M) { testserve.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// FreeAddr returns a loopback "127.0.0.1:port" that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Proc is a running `radraft serve`.
type Proc struct {
	Cmd  *exec.Cmd
	Done chan struct{} // closed when the process has exited
	Err  error         // its exit error, once Done is closed

	mu  sync.Mutex
	log bytes.Buffer
}

func (p *Proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.Write(b)
}

// Log is what the process printed so far (stdout and stderr).
func (p *Proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Start runs `radraft serve args...` with env added to this process's
// environment and waits until waitAddr accepts TCP connections. The process
// is killed when the test ends if it is still running.
func Start(t testing.TB, env []string, waitAddr string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(Binary(t), append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	p := &Proc{Cmd: cmd, Done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p, p
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.Err = cmd.Wait(); close(p.Done) }()
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck
		<-p.Done
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", waitAddr, time.Second); err == nil {
			c.Close()
			return p
		}
		select {
		case <-p.Done:
			t.Fatalf("radraft serve exited: %v\n%s", p.Err, p.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("radraft serve did not listen on %s\n%s", waitAddr, p.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitReady waits until GET http://httpAddr/readyz answers 200 (the
// database migrated, the model loaded), failing the test when the process
// exits first or ctx ends.
func (p *Proc) WaitReady(ctx context.Context, t testing.TB, httpAddr string) {
	t.Helper()
	for {
		if r, err := http.Get("http://" + httpAddr + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.Done:
			t.Fatalf("radraft serve exited:\n%s", p.Log())
		default:
		}
		if ctx.Err() != nil {
			t.Fatalf("radraft serve not ready:\n%s", p.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Kill sends SIGKILL and waits for the process to exit.
func (p *Proc) Kill() {
	p.Cmd.Process.Kill() //nolint:errcheck
	<-p.Done
}

// Corpus lists the files matching pattern for a test against the binary:
// it skips in -short mode and fails when fewer than min files match.
func Corpus(t testing.TB, pattern string, min int) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) < min {
		t.Fatalf("%s: %d files (%v); want at least %d", pattern, len(files), err, min)
	}
	return files
}
