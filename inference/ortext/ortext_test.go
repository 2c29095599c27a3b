package ortext

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

// The headers are the onnxruntime_go module's, unchanged.
func TestHeadersMatchOnnxruntimeGo(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/yalue/onnxruntime_go").Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := strings.TrimSpace(string(out))
	for _, h := range []string{"onnxruntime_c_api.h", "onnxruntime_ep_c_api.h"} {
		want, err := os.ReadFile(filepath.Join(dir, h))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(h)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from onnxruntime_go's: run go generate ./inference/ortext", h)
		}
	}
}

func initORT(t testing.TB) {
	t.Helper()
	lib := os.Getenv("RADRAFT_ORT_LIB")
	if lib == "" {
		t.Fatal("RADRAFT_ORT_LIB is not set (export RADRAFT_ORT_LIB=$(scripts/fetch-onnxruntime.sh))")
	}
	if !ort.IsInitialized() {
		ort.SetSharedLibraryPath(lib)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			t.Fatal(err)
		}
	}
	if err := Init(lib); err != nil {
		t.Fatal(err)
	}
}

func TestInitNeedsTheLoadedLibrary(t *testing.T) {
	initORT(t)
	if err := Init("/nonexistent/libonnxruntime.so"); err == nil || !strings.Contains(err.Error(), "already bound") {
		t.Fatalf("Init with another path: %v", err)
	}
}

func TestEpDevicesHasCPU(t *testing.T) {
	initORT(t)
	devs, err := EpDevices()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range devs {
		if d.EP == "CPUExecutionProvider" && d.Hardware == "cpu" {
			found = true
			if d.Memory() != nil {
				t.Errorf("CPU provider reports device memory")
			}
		}
	}
	if !found {
		t.Fatalf("no CPUExecutionProvider device in %+v", devs)
	}
}

// The demo model's embedding graph run through a Binding (input and output
// tensors over our memory) gives what onnxruntime_go's Run gives, and
// CopyTensor brings a row of it into another buffer.
func TestBindingMatchesRun(t *testing.T) {
	initORT(t)
	model := filepath.Join("..", "..", "models", "demo", "embedding.onnx")
	ids := []int64{1, 319, 13, 2}
	const H = 64 // the demo model's hidden size (models/demo/model.json)

	ref, err := ort.NewEmptyTensor[float32](ort.NewShape(1, int64(len(ids)), H))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Destroy()
	in, _ := ort.NewTensor(ort.NewShape(1, int64(len(ids))), ids)
	defer in.Destroy()
	s0, err := ort.NewDynamicAdvancedSession(model, []string{"input_ids"}, []string{"inputs_embeds"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s0.Destroy()
	if err := s0.Run([]ort.Value{in}, []ort.Value{ref}); err != nil {
		t.Fatal(err)
	}

	opts, err := NewSessionOptions(0)
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Release()
	s, err := NewSession(model, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	cpu, err := CPUMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Release()
	b, err := s.NewBinding()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	got := make([]float32, len(ids)*H)
	vin, err := NewTensor(cpu, unsafe.Pointer(&ids[0]), 8*len(ids), 7, 1, int64(len(ids)))
	if err != nil {
		t.Fatal(err)
	}
	defer vin.Release()
	vout, err := NewTensor(cpu, unsafe.Pointer(&got[0]), 4*len(got), 1, 1, int64(len(ids)), H)
	if err != nil {
		t.Fatal(err)
	}
	defer vout.Release()
	if err := b.Input("input_ids", vin); err != nil {
		t.Fatal(err)
	}
	if err := b.Output("inputs_embeds", vout); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(b, nil); err != nil {
		t.Fatal(err)
	}
	want := ref.GetData()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("value %d: binding %v, Run %v", i, got[i], want[i])
		}
	}
	if got[0] == 0 && got[len(got)-1] == 0 {
		t.Fatal("output not written")
	}

	row := make([]float32, H)
	src, _ := NewTensor(cpu, unsafe.Pointer(&got[(len(ids)-1)*H]), 4*H, 1, 1, 1, H)
	dst, _ := NewTensor(cpu, unsafe.Pointer(&row[0]), 4*H, 1, 1, 1, H)
	defer src.Release()
	defer dst.Release()
	if err := CopyTensor(src, dst); err != nil {
		t.Fatal(err)
	}
	for i := range row {
		if row[i] != want[(len(ids)-1)*H+i] {
			t.Fatalf("copied row %d: %v, want %v", i, row[i], want[(len(ids)-1)*H+i])
		}
	}
}

// Each runtime radraft supports answers the C API this package uses: the
// tests above rerun, in a child process each, on every core library found
// in radraft's cache folder (1.30.0 from onnxruntime-node, 1.29.0 from the
// asus4 packages; scripts/install-deps.sh fetches both).
func TestRuntimeVersions(t *testing.T) {
	if os.Getenv("RADRAFT_ORTEXT_CHILD") != "" {
		t.Skip("child process")
	}
	userCache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(userCache, "radraft", "onnxruntime") // inference.DefaultCacheDir
	libs := map[string]string{
		"1.30.0": filepath.Join(cache, "npm-1.30.0", "libonnxruntime.so.1"),
		"1.29.0": filepath.Join(cache, "asus4-0.4.9", "libonnxruntime.so"),
	}
	for ver, lib := range libs {
		t.Run(ver, func(t *testing.T) {
			if _, err := os.Stat(lib); err != nil {
				if os.Getenv("RADRAFT_REQUIRE_PEERS") == "1" {
					t.Fatalf("%s: %v (scripts/install-deps.sh fetches it)", lib, err)
				}
				t.Skipf("%s: %v", lib, err)
			}
			abs, _ := filepath.Abs(lib)
			cmd := exec.Command(os.Args[0], "-test.run", "^(TestEpDevicesHasCPU|TestBindingMatchesRun|TestVersionIs)$", "-test.v")
			cmd.Env = append(os.Environ(), "RADRAFT_ORTEXT_CHILD=1", "RADRAFT_ORT_LIB="+abs, "RADRAFT_ORTEXT_WANT_VERSION="+ver)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "--- PASS: TestBindingMatchesRun") || !strings.Contains(string(out), "--- PASS: TestVersionIs") {
				t.Fatalf("on onnxruntime %s: %v\n%s", ver, err, out)
			}
		})
	}
}

// TestVersionIs checks (in TestRuntimeVersions' child) that the library
// loaded is the version expected.
func TestVersionIs(t *testing.T) {
	want := os.Getenv("RADRAFT_ORTEXT_WANT_VERSION")
	if want == "" {
		t.Skip("run by TestRuntimeVersions")
	}
	initORT(t)
	if got := ort.GetVersion(); got != want {
		t.Fatalf("loaded onnxruntime %s, want %s", got, want)
	}
}
