// Package inference runs LLaVA-Rad (or the bundled demo model) through ONNX
// Runtime: it finds and loads the runtime library, loads and validates a model
// bundle, turns a DICOM's display image into the vision tower's tensor, runs
// greedy generation with a KV cache, and works the draft_study jobs.
//
// Verified here (CPU build of ONNX Runtime 1.30.0 from onnxruntime-node):
// float32 bundles end to end, bit-exact preprocessing and token parity with
// PyTorch on the demo model, and the float16 plumbing (tiny16 test bundle).
//
// Two generation loops give identical tokens (loop_test.go): LoopRun
// (onnxruntime_go's Run over Go memory; the CPU default) and LoopBinding
// (IoBinding through the ortext package, the KV cache in the execution
// provider's memory). RADRAFT_DEVICE=cuda[:N] uses LoopBinding with the
// CUDA plugin execution provider (cuda.go), loaded from beside the core
// library (scripts/fetch-onnxruntime.sh --gpu); what is missing for it is
// reported in one line at load. Not run here on a GPU (none was
// available): bench/gpu is the check to run where one is.
package inference

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/radraft/radraft/inference/ortext"
)

// NPMVersion is the onnxruntime-node release whose tarball carries the CPU
// build of libonnxruntime used where no other is given.
const NPMVersion = "1.30.0"

// MinVersion is the oldest runtime onnxruntime_go's C API (version 24) works with.
const MinVersion = "1.24.0"

// RuntimeOptions says where to look for libonnxruntime.
type RuntimeOptions struct {
	// Path is an explicit library path (RADRAFT_ORT_LIB); it wins when set.
	Path string
	// Archive is an official release archive (onnxruntime-linux-x64-*.tgz),
	// a local path or an http(s) URL, to take the library from.
	Archive string
	// CacheDir holds fetched libraries; empty = DefaultCacheDir().
	CacheDir string
	// NoFetch forbids downloading (npm pack or an archive URL).
	NoFetch bool
	// GPU prefers the core library that scripts/fetch-onnxruntime.sh --gpu
	// put beside the CUDA provider, when no Path is given.
	GPU bool
}

// GPUCacheFolder is the folder of the cache (DefaultCacheDir) where
// scripts/fetch-onnxruntime.sh --gpu puts the asus4 0.4.9 core library
// (ONNX Runtime 1.29.0) and the CUDA provider beside it.
const GPUCacheFolder = "asus4-0.4.9"

// DefaultCacheDir is $XDG_CACHE_HOME/radraft/onnxruntime (or ~/.cache/...).
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "radraft", "onnxruntime")
	}
	return filepath.Join(os.TempDir(), "radraft-onnxruntime")
}

// FindRuntime returns the path of a libonnxruntime shared library: the
// explicit path, else one extracted from the given archive, else a cached
// copy, else one fetched from the onnxruntime-node npm tarball.
func FindRuntime(ctx context.Context, o RuntimeOptions) (string, error) {
	if o.Path != "" {
		if _, err := os.Stat(o.Path); err != nil {
			return "", fmt.Errorf("onnxruntime library %s: %w", o.Path, err)
		}
		return filepath.Abs(o.Path)
	}
	cache := o.CacheDir
	if cache == "" {
		cache = DefaultCacheDir()
	}
	if o.Archive != "" {
		return fromArchive(ctx, o.Archive, cache, o.NoFetch)
	}
	if o.GPU {
		if p := filepath.Join(cache, GPUCacheFolder, "libonnxruntime.so"); fileExists(p) {
			return p, nil
		}
	}
	cached := filepath.Join(cache, "npm-"+NPMVersion, "libonnxruntime.so.1")
	if _, err := os.Stat(cached); err == nil {
		return cached, nil
	}
	// Where an older checkout's scripts/fetch-onnxruntime.sh kept it (the
	// script now fills the cache folder above, like this function).
	for _, p := range []string{".cache/onnxruntime/" + NPMVersion + "/libonnxruntime.so.1"} {
		if _, err := os.Stat(p); err == nil {
			return filepath.Abs(p)
		}
	}
	if o.NoFetch {
		return "", errors.New("no onnxruntime library found (set RADRAFT_ORT_LIB, or run `radraft model runtime` with fetching allowed)")
	}
	return fetchNPM(ctx, filepath.Dir(cached))
}

func npmMember() (string, error) {
	if runtime.GOOS != "linux" {
		return "", fmt.Errorf("the npm tarball route is for linux; on %s give a release archive or a library path", runtime.GOOS)
	}
	arch := map[string]string{"amd64": "x64", "arm64": "arm64"}[runtime.GOARCH]
	if arch == "" {
		return "", fmt.Errorf("no onnxruntime-node build for %s", runtime.GOARCH)
	}
	return "package/bin/napi-v6/linux/" + arch + "/libonnxruntime.so.1", nil
}

// fetchNPM runs `npm pack onnxruntime-node@NPMVersion` (so the site's npm
// registry, proxy and credentials apply) and extracts the library into dir.
func fetchNPM(ctx context.Context, dir string) (string, error) {
	member, err := npmMember()
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "radraft-ort-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "npm", "pack", "--silent", "onnxruntime-node@"+NPMVersion)
	cmd.Dir = tmp
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("npm pack onnxruntime-node@%s: %w", NPMVersion, err)
	}
	tgz := filepath.Join(tmp, strings.TrimSpace(lastLine(string(out))))
	f, err := os.Open(tgz)
	if err != nil {
		return "", fmt.Errorf("npm pack output: %w", err)
	}
	defer f.Close()
	dst := filepath.Join(dir, "libonnxruntime.so.1")
	if err := extractMember(f, func(name string) bool { return name == member }, dst); err != nil {
		return "", err
	}
	return dst, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// fromArchive takes lib/libonnxruntime.so.<ver> out of an official release
// archive (path or URL), caching it by the archive's file name.
func fromArchive(ctx context.Context, archive, cache string, noFetch bool) (string, error) {
	base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(archive), ".tgz"), ".tar.gz")
	dst := filepath.Join(cache, base, "libonnxruntime.so")
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	var r io.Reader
	if strings.HasPrefix(archive, "http://") || strings.HasPrefix(archive, "https://") {
		if noFetch {
			return "", fmt.Errorf("%s: fetching is not allowed", archive)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, archive, nil)
		if err != nil {
			return "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", fmt.Errorf("download %s: %w", archive, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("download %s: %s", archive, resp.Status)
		}
		r = resp.Body
	} else {
		f, err := os.Open(archive)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	// The release tarballs hold <dir>/lib/libonnxruntime.so.1.x.y plus
	// symlinks; take the regular file. The CUDA provider libraries sit
	// beside it and are extracted too, so that the CUDA EP can be loaded.
	isLib := func(name string) bool {
		b := filepath.Base(name)
		return strings.Contains(name, "/lib/") && strings.HasPrefix(b, "libonnxruntime") && strings.Contains(b, ".so")
	}
	if err := extractMember(r, isLib, dst); err != nil {
		return "", fmt.Errorf("%s: %w", archive, err)
	}
	return dst, nil
}

// extractMember copies the regular files of a .tgz that match into the
// directory of dst; the main library (libonnxruntime.so*) lands at dst.
func extractMember(r io.Reader, match func(string) bool, dst string) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("not a gzip archive: %w", err)
	}
	tr := tar.NewReader(gz)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg || !match(h.Name) {
			continue
		}
		b := filepath.Base(h.Name)
		target := filepath.Join(filepath.Dir(dst), b)
		if strings.HasPrefix(b, "libonnxruntime.so") {
			target = dst
			found = true
		}
		if err := writeFileAtomic(target, tr); err != nil {
			return err
		}
	}
	if !found {
		return errors.New("archive holds no libonnxruntime.so")
	}
	return nil
}

func writeFileAtomic(path string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".part-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

var (
	envMu      sync.Mutex
	envPath    string
	envVersion string
)

// InitRuntime loads the library at path into this process (once; a second
// call with another path is an error) and returns the runtime's version,
// checked against MinVersion.
func InitRuntime(path string) (string, error) {
	envMu.Lock()
	defer envMu.Unlock()
	if ort.IsInitialized() {
		if path != envPath {
			return "", fmt.Errorf("onnxruntime already loaded from %s, not %s", envPath, path)
		}
		return envVersion, nil
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return "", fmt.Errorf("load onnxruntime %s: %w (radraft needs onnxruntime >= %s)", path, err, MinVersion)
	}
	v := ort.GetVersion()
	if !versionAtLeast(v, MinVersion) {
		ort.DestroyEnvironment() //nolint:errcheck
		return "", fmt.Errorf("onnxruntime %s at %s is too old: need >= %s", v, path, MinVersion)
	}
	if err := ortext.Init(path); err != nil {
		ort.DestroyEnvironment() //nolint:errcheck
		return "", err
	}
	envPath, envVersion = path, v
	return v, nil
}

// InitRuntimeFromEnv is InitRuntime on the library RADRAFT_ORT_LIB names
// (for tools and benchmarks, which do no fetching).
func InitRuntimeFromEnv() (string, error) {
	lib := os.Getenv("RADRAFT_ORT_LIB")
	if lib == "" {
		return "", errors.New("set RADRAFT_ORT_LIB (scripts/fetch-onnxruntime.sh prints a path)")
	}
	return InitRuntime(lib)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// RuntimePath is the loaded runtime library's path ("" when none is loaded).
func RuntimePath() string {
	envMu.Lock()
	defer envMu.Unlock()
	return envPath
}

// RuntimeVersion is the loaded runtime's version ("" when none is loaded).
func RuntimeVersion() string {
	envMu.Lock()
	defer envMu.Unlock()
	return envVersion
}

func versionAtLeast(v, min string) bool {
	a, b := strings.Split(v, "."), strings.Split(min, ".")
	for i := 0; i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x, _ = strconv.Atoi(strings.TrimFunc(a[i], func(r rune) bool { return r < '0' || r > '9' }))
		}
		y, _ = strconv.Atoi(b[i])
		if x != y {
			return x > y
		}
	}
	return true
}
