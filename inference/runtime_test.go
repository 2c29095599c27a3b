package inference

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A release archive's lib/libonnxruntime.so.<ver> (and the provider
// libraries beside it) are extracted into the cache; symlinks are skipped.
func TestRuntimeFromArchive(t *testing.T) {
	dir := t.TempDir()
	arch := filepath.Join(dir, "onnxruntime-linux-x64-gpu-1.30.0.tgz")
	f, err := os.Create(arch)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	add := func(name, body string) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}) //nolint:errcheck
		tw.Write([]byte(body))                                                                              //nolint:errcheck
	}
	add("onnxruntime-linux-x64-gpu-1.30.0/include/onnxruntime_c_api.h", "header")
	tw.WriteHeader(&tar.Header{Name: "onnxruntime-linux-x64-gpu-1.30.0/lib/libonnxruntime.so", Linkname: "libonnxruntime.so.1", Typeflag: tar.TypeSymlink}) //nolint:errcheck
	add("onnxruntime-linux-x64-gpu-1.30.0/lib/libonnxruntime.so.1.30.0", "main library")
	add("onnxruntime-linux-x64-gpu-1.30.0/lib/libonnxruntime_providers_cuda.so", "cuda provider")
	add("onnxruntime-linux-x64-gpu-1.30.0/lib/libonnxruntime_providers_shared.so", "shared provider")
	tw.Close()
	gz.Close()
	f.Close()

	cache := filepath.Join(dir, "cache")
	p, err := FindRuntime(context.Background(), RuntimeOptions{Archive: arch, CacheDir: cache, NoFetch: true})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "main library" {
		t.Fatalf("%s holds %q", p, b)
	}
	if b, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "libonnxruntime_providers_cuda.so")); string(b) != "cuda provider" {
		t.Fatalf("provider library not beside the runtime: %q", b)
	}
	// Cached: a second call does not need the archive.
	os.Remove(arch)
	if p2, err := FindRuntime(context.Background(), RuntimeOptions{Archive: arch, CacheDir: cache, NoFetch: true}); err != nil || p2 != p {
		t.Fatalf("cached: %s %v", p2, err)
	}
	// An explicit path wins; a missing one is an error naming it.
	if _, err := FindRuntime(context.Background(), RuntimeOptions{Path: filepath.Join(dir, "nope.so")}); err == nil {
		t.Fatal("missing library accepted")
	}
	if !versionAtLeast("1.30.0", MinVersion) || versionAtLeast("1.23.2", MinVersion) || !versionAtLeast("1.24.0", "1.24.0") {
		t.Fatal("versionAtLeast")
	}
}
