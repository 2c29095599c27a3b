package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/radraft/radraft/inference"
)

func runModel(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: radraft model runtime|check|render|tokenize [flags]")
	}
	switch args[0] {
	case "runtime":
		return runModelRuntime(ctx, args[1:])
	case "check":
		return runModelCheck(ctx, args[1:])
	case "render":
		return runModelRender(args[1:])
	case "tokenize":
		return runModelTokenize(args[1:], os.Stdout)
	default:
		return fmt.Errorf("unknown model command %q (runtime, check, render, tokenize)", args[0])
	}
}

// runModelRuntime prints the path of a working libonnxruntime: the one given
// (flag or RADRAFT_ORT_LIB), else a cached one, else one fetched from the
// onnxruntime-node npm tarball or taken from an official release archive;
// and (on stderr, or in the -v JSON) its version, execution providers and
// their devices, and whether the CUDA provider is usable and if not why.
func runModelRuntime(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("model runtime", flag.ContinueOnError)
	var o inference.RuntimeOptions
	fs.StringVar(&o.Path, "lib", os.Getenv("RADRAFT_ORT_LIB"), "library path to check (RADRAFT_ORT_LIB)")
	fs.StringVar(&o.Archive, "archive", "", "official release archive (onnxruntime-linux-x64[-gpu]-VER.tgz), a path or an https URL")
	fs.StringVar(&o.CacheDir, "cache-dir", "", "where fetched libraries are kept (default "+inference.DefaultCacheDir()+")")
	fs.BoolVar(&o.NoFetch, "no-fetch", false, "fail instead of downloading")
	verbose := fs.Bool("v", false, "print the version and path as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path, err := inference.FindRuntime(ctx, o)
	if err != nil {
		return err
	}
	if _, err := inference.InitRuntime(path); err != nil {
		return err
	}
	rep, err := inference.Report()
	if err != nil {
		return err
	}
	if *verbose {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	// stdout stays the path alone (scripts take it); the summary goes to stderr.
	fmt.Println(path)
	fmt.Fprintf(os.Stderr, "onnxruntime %s; execution providers: %s\n", rep.Version, strings.Join(rep.Providers, ", "))
	for _, d := range rep.Devices {
		fmt.Fprintf(os.Stderr, "  %s on %s (%s, vendor 0x%04x, device 0x%04x)\n", d.EP, d.Hardware, d.Vendor, d.VendorID, d.DeviceID)
	}
	fmt.Fprintf(os.Stderr, "CUDA: %s\n", rep.CUDA)
	return nil
}

// runModelCheck loads a bundle the way the worker does and reports what it found.
func runModelCheck(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("model check", flag.ContinueOnError)
	dir := fs.String("model", env("RADRAFT_MODEL_DIR", "./models/demo"), "model bundle (RADRAFT_MODEL_DIR)")
	lib := fs.String("ort-lib", os.Getenv("RADRAFT_ORT_LIB"), "libonnxruntime path (RADRAFT_ORT_LIB)")
	device := fs.String("device", env("RADRAFT_DEVICE", "cpu"), "cpu or cuda[:N] (RADRAFT_DEVICE)")
	reference := fs.Bool("reference", false, "also re-run the bundle's reference outputs through the Go pipeline; fail on any difference")
	refDir := fs.String("references", "", "with --reference: another references folder (e.g. the fp16 bundle's, to check a CPU bundle against it)")
	dicomDir := fs.String("dicom-dir", "", "with --reference: where the references' DICOM files are (default: the references folder)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := openModel(ctx, *dir, *lib, *device)
	if err != nil {
		return err
	}
	defer m.Close()
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if !*reference {
		return enc.Encode(m.Info())
	}
	pipe, err := newPipeline(m)
	if err != nil {
		return err
	}
	rep, err := pipe.CheckReferences(ctx, inference.ReferenceOptions{Dir: *refDir, DICOMDir: *dicomDir, Decode: pipe.DecodePixels})
	if err != nil {
		return err
	}
	if err := enc.Encode(map[string]any{"model": m.Info(), "reference": rep}); err != nil {
		return err
	}
	if rep.Failed > 0 {
		return fmt.Errorf("model check --reference: %d of %d comparisons differ from the reference", rep.Failed, len(rep.Checks))
	}
	return nil
}

// openModel finds the runtime and loads a bundle.
func openModel(ctx context.Context, dir, lib, device string) (*inference.Model, error) {
	opts, err := inference.ParseDevice(device)
	if err != nil {
		return nil, err
	}
	path, err := inference.FindRuntime(ctx, inference.RuntimeOptions{Path: lib, GPU: opts.CUDA})
	if err != nil {
		return nil, err
	}
	if _, err := inference.InitRuntime(path); err != nil {
		return nil, err
	}
	return inference.Load(dir, opts)
}
