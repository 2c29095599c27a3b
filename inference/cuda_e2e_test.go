package inference_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/inference"
	"github.com/radraft/radraft/inference/ortext"
	"github.com/radraft/radraft/internal/testfiles"
	"github.com/radraft/radraft/internal/testserve"
)

// RADRAFT_DEVICE=cuda where CUDA cannot run: `radraft model check`,
// `radraft draft` and `radraft serve --role=worker` each refuse at start,
// exit 1, and say in one line what is missing (never a crash). The
// libraries the CUDA provider needs are staged with stub shared objects
// (built here with cc) on LD_LIBRARY_PATH, one more per case, so each
// message of the chain shows; the provider library is an empty file
// beside a link to the CPU core library.
func TestCUDAUnavailableFailsAtStartInOneLine(t *testing.T) {
	lib := os.Getenv("RADRAFT_ORT_LIB")
	if lib == "" {
		t.Fatal("RADRAFT_ORT_LIB is not set")
	}
	if ortext.Loadable("libcuda.so.1") == nil {
		t.Skip("this machine has an NVIDIA driver: the no-GPU messages are checked on machines without one")
	}
	bin := testserve.Binary(t)
	tmp := t.TempDir()
	root, _ := filepath.Abs("..")
	model := filepath.Join(root, "models", "demo")

	bare := filepath.Join(tmp, "bare") // the core library alone
	withProvider := filepath.Join(tmp, "gpu")
	for _, d := range []string{bare, withProvider} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(lib, filepath.Join(d, "libonnxruntime.so")); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(withProvider, inference.CUDAProviderLibrary), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	stubs := filepath.Join(tmp, "stubs")
	stub := func(names ...string) {
		t.Helper()
		src := filepath.Join(tmp, "stub.c")
		os.MkdirAll(stubs, 0o755)                                    //nolint:errcheck
		os.WriteFile(src, []byte("int radraft_cuda_stub;\n"), 0o644) //nolint:errcheck
		for _, n := range names {
			if out, err := exec.Command("cc", "-shared", "-fPIC", "-o", filepath.Join(stubs, n), src).CombinedOutput(); err != nil {
				t.Fatalf("cc: %v\n%s", err, out)
			}
		}
	}

	cases := []struct {
		name, coreDir string
		stubs         []string
		want          string
		prefix        bool // want is the start of the line (the rest is the loader's)
	}{
		{"no provider library", bare, nil,
			"cuda: provider library not found: run scripts/fetch-onnxruntime.sh --gpu and set RADRAFT_ORT_LIB to the path it prints (no libonnxruntime_providers_cuda.so beside " + filepath.Join(bare, "libonnxruntime.so") + ")", false},
		{"no driver", withProvider, nil, "cuda: no NVIDIA driver (libcuda.so.1 not found)", false},
		{"no CUDA runtime", withProvider, []string{"libcuda.so.1"}, "cuda: libcudart.so.13 not found (install the CUDA 13 runtime)", false},
		{"no cuBLAS", withProvider, []string{"libcudart.so.13"}, "cuda: libcublas.so.13 not found (install CUDA 13 cuBLAS)", false},
		{"no cuDNN", withProvider, []string{"libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10"}, "cuda: libcudnn.so.9 not found (install cuDNN 9 for CUDA 13)", false},
		{"provider does not load", withProvider, []string{"libcudnn.so.9"}, "cuda: the provider " + filepath.Join(withProvider, inference.CUDAProviderLibrary) + " does not load into onnxruntime ", true},
	}
	dbURL := draftstest.NewDatabase(t)
	for _, c := range cases {
		stub(c.stubs...) // cumulative: each case adds what the previous one lacked
		env := append(os.Environ(), "RADRAFT_DEVICE=cuda", "RADRAFT_ORT_LIB="+filepath.Join(c.coreDir, "libonnxruntime.so"),
			"RADRAFT_MODEL_DIR="+model, "LD_LIBRARY_PATH="+stubs)
		commands := map[string][]string{
			"model": {"model", "check"},
			"draft": {"draft", "--dicom", testfiles.CR(t)},
			"serve": {"serve", "--role=worker", "--database-url=" + dbURL, "--storage-dir=" + filepath.Join(tmp, "dicom"),
				"--http-addr=" + testserve.FreeAddr(t)},
		}
		for name, args := range commands {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				cmd := exec.Command(bin, args...)
				cmd.Env = env
				out, err := cmd.CombinedOutput()
				code := -1
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				}
				if code != 1 {
					t.Fatalf("exit %d (%v), want 1\n%s", code, err, out)
				}
				lines := strings.Split(strings.TrimSpace(string(out)), "\n")
				last := lines[len(lines)-1]
				wantLine := "radraft " + name + ": " + c.want
				if name == "serve" {
					wantLine = "radraft serve: inference: " + c.want
				}
				if ok := last == wantLine || (c.prefix && strings.HasPrefix(last, wantLine)); !ok {
					t.Fatalf("last line\n %q\nwant\n %q\nall output:\n%s", last, wantLine, out)
				}
				if n := strings.Count(string(out), c.want); n != 1 {
					t.Fatalf("the message appears %d times:\n%s", n, out)
				}
				if strings.Contains(string(out), "panic") || strings.Contains(string(out), "SIG") {
					t.Fatalf("crashed:\n%s", out)
				}
			})
		}
	}
}
