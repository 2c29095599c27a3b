package inference

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

// A bundle's references (model.json "references", written by the export
// with the reference Python code) re-run through the Go pipeline: `radraft
// model check --reference`, a site's acceptance test of its bundle. Format
// in models/demo/README.md.

// PromptReferences is references/prompts.json.
type PromptReferences struct {
	ImageTokenIndex int64 `json:"image_token_index"`
	Cases           []struct {
		Indication *string `json:"indication"`
		Prompt     string  `json:"prompt"`
		InputIDs   []int64 `json:"input_ids"`
	} `json:"cases"`
}

// ImageReferences is references/images.json.
type ImageReferences struct {
	Rendering    string           `json:"rendering"`
	DType        string           `json:"dtype"`
	Source       string           `json:"source"`
	MaxNewTokens int              `json:"max_new_tokens"`
	Cases        []ImageReference `json:"cases"`
}

// ImageReference is one image's references.
type ImageReference struct {
	Name              string             `json:"name"`
	DICOM             string             `json:"dicom"`
	InputPNG          string             `json:"input_png"`
	Width             int                `json:"width"`
	Height            int                `json:"height"`
	InputSHA256       string             `json:"input_sha256"`
	PixelValuesSHA256 string             `json:"pixel_values_sha256"`
	Features          FeatureFingerprint `json:"features"`
	Generations       []struct {
		Indication    *string `json:"indication"`
		IDs           []int64 `json:"ids"`
		StoppedByEOS  bool    `json:"stopped_by_eos"`
		Text          string  `json:"text"`
		MinTop2Margin float64 `json:"min_top2_margin"`
	} `json:"generations"`
}

// FeatureFingerprint summarises the vision graph's output so that another
// runtime's rounding can be told from a real difference.
type FeatureFingerprint struct {
	Shape   []int   `json:"shape"`
	SHA256  string  `json:"sha256"`
	Sum     float64 `json:"sum"`
	L2      float64 `json:"l2"`
	Samples struct {
		Index  []int     `json:"index"`
		Values []float64 `json:"values"`
	} `json:"samples"`
}

// ReferenceCheck is one comparison's outcome.
type ReferenceCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// ReferenceReport is what CheckReferences found.
type ReferenceReport struct {
	Dir    string           `json:"references"`
	Checks []ReferenceCheck `json:"checks"`
	Failed int              `json:"failed"`
}

func (r *ReferenceReport) add(name string, ok bool, f string, a ...any) {
	c := ReferenceCheck{Name: name, OK: ok}
	if f != "" {
		c.Detail = fmt.Sprintf(f, a...)
	}
	if !ok {
		r.Failed++
	}
	r.Checks = append(r.Checks, c)
}

// ReferenceOptions say where the references and their DICOM files are.
type ReferenceOptions struct {
	// Dir is the references folder (default: the bundle's own).
	Dir string
	// DICOMDir resolves a reference's "dicom" file name (default: Dir).
	DICOMDir string
	// Decode turns a DICOM file into the model's 8-bit input with the
	// bundle's rendering (ModelInput with dicom/pixels' Open).
	Decode func(path string) (*image.Gray, error)
}

// CheckReferences re-runs a bundle's references through the Go pipeline:
// every prompt's ids (exact), and per image the 8-bit model input and the
// preprocessed tensor (exact, by sha256), the vision features (within the
// float tolerance of the bundle's dtype) and the first greedy tokens with
// and without an indication (exact). A failed comparison is reported, not
// returned as an error; errors are for references that cannot be read.
func (p *Pipeline) CheckReferences(ctx context.Context, o ReferenceOptions) (*ReferenceReport, error) {
	m := p.Model
	dir := o.Dir
	if dir == "" {
		if m.Manifest.References == "" {
			return nil, fmt.Errorf("model bundle %s has no references (model.json \"references\")", m.Dir)
		}
		dir = filepath.Join(m.Dir, m.Manifest.References)
	}
	if o.DICOMDir == "" {
		o.DICOMDir = dir
	}
	rep := &ReferenceReport{Dir: dir}
	var prompts PromptReferences
	if err := readJSON(filepath.Join(dir, "prompts.json"), &prompts); err != nil {
		return nil, err
	}
	for i, c := range prompts.Cases {
		ind := ""
		if c.Indication != nil {
			ind = *c.Indication
		}
		text, before, after, err := p.Prompt.Encode(ind)
		if err != nil {
			return nil, err
		}
		ids := slices.Concat(before, []int64{prompts.ImageTokenIndex}, after)
		name := fmt.Sprintf("prompt %d %q", i, ind)
		switch {
		case text != c.Prompt:
			rep.add(name, false, "text %q, reference %q", text, c.Prompt)
		case !slices.Equal(ids, c.InputIDs):
			rep.add(name, false, "ids %v, reference %v", ids, c.InputIDs)
		default:
			rep.add(name, true, "")
		}
	}
	var images ImageReferences
	if err := readJSON(filepath.Join(dir, "images.json"), &images); err != nil {
		return nil, err
	}
	if images.Rendering != "" && images.Rendering != m.Manifest.InputRendering {
		rep.add("rendering", false, "references were made with %s, the bundle uses %s", images.Rendering, m.Manifest.InputRendering)
	}
	for _, c := range images.Cases {
		if err := p.checkImage(ctx, rep, &images, &c, dir, o); err != nil {
			return nil, fmt.Errorf("reference %s: %w", c.Name, err)
		}
	}
	return rep, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// referenceInput is a reference's 8-bit model input: rendered from its DICOM
// (and compared with the PNG when both exist), else read from its PNG.
func referenceInput(c *ImageReference, dir string, o ReferenceOptions) (*image.Gray, error) {
	if c.DICOM != "" {
		if o.Decode == nil {
			return nil, fmt.Errorf("no DICOM decoder")
		}
		return o.Decode(filepath.Join(o.DICOMDir, c.DICOM))
	}
	if c.InputPNG == "" {
		return nil, fmt.Errorf("neither dicom nor input_png")
	}
	f, err := os.Open(filepath.Join(dir, c.InputPNG))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, err
	}
	g, ok := img.(*image.Gray)
	if !ok {
		return nil, fmt.Errorf("%s is %T, want 8-bit gray", c.InputPNG, img)
	}
	return g, nil
}

func grayBytes(g *image.Gray) []byte {
	w, h := g.Bounds().Dx(), g.Bounds().Dy()
	if g.Stride == w {
		return g.Pix[:w*h]
	}
	b := make([]byte, 0, w*h)
	for y := 0; y < h; y++ {
		b = append(b, g.Pix[y*g.Stride:y*g.Stride+w]...)
	}
	return b
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (p *Pipeline) checkImage(ctx context.Context, rep *ReferenceReport, refs *ImageReferences, c *ImageReference, dir string, o ReferenceOptions) error {
	m := p.Model
	img, err := referenceInput(c, dir, o)
	if err != nil {
		return err
	}
	got := sha256Hex(grayBytes(img))
	rep.add(c.Name+": model input", got == c.InputSHA256, "%dx%d, sha256 %s, reference %s",
		img.Bounds().Dx(), img.Bounds().Dy(), got[:12], shortHash(c.InputSHA256))
	px, err := m.Pre.Tensor(img, nil)
	if err != nil {
		return err
	}
	raw := make([]byte, 4*len(px))
	for i, v := range px {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	got = sha256Hex(raw)
	rep.add(c.Name+": pixel_values", got == c.PixelValuesSHA256, "sha256 %s, reference %s", got[:12], shortHash(c.PixelValuesSHA256))
	feats, err := m.VisionFeatures(ctx, px)
	if err != nil {
		return err
	}
	ok, detail := compareFeatures(feats, &c.Features, featureTolerance(m.Manifest.DType))
	rep.add(c.Name+": vision features", ok, "%s", detail)
	maxNew := refs.MaxNewTokens
	if maxNew <= 0 {
		maxNew = 64
	}
	for _, g := range c.Generations {
		ind := ""
		if g.Indication != nil {
			ind = *g.Indication
		}
		_, before, after, err := p.Prompt.Encode(ind)
		if err != nil {
			return err
		}
		gen, err := m.Generate(ctx, px, before, after, maxNew)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("%s: greedy %d tokens, indication %q", c.Name, len(g.IDs), ind)
		if slices.Equal(gen.Tokens, g.IDs) && (gen.Stop == "eos") == g.StoppedByEOS {
			rep.add(name, true, "smallest reference top-2 margin %.3g", g.MinTop2Margin)
			continue
		}
		at := 0
		for at < len(gen.Tokens) && at < len(g.IDs) && gen.Tokens[at] == g.IDs[at] {
			at++
		}
		rep.add(name, false, "first difference at token %d (go stop %s, reference eos %v; smallest reference top-2 margin %.3g)\n go:        %v\n reference: %v",
			at, gen.Stop, g.StoppedByEOS, g.MinTop2Margin, gen.Tokens, g.IDs)
	}
	return nil
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// featureTolerance is the relative tolerance between PyTorch's and ONNX
// Runtime's vision features for a bundle's float type: float32 kernels
// differ in summation order only; float16 ones round every product.
func featureTolerance(dtype string) float64 {
	if dtype == "float16" {
		return 2e-2
	}
	return 1e-3
}

// compareFeatures checks the fingerprint: the shape exactly, the L2 norm
// and each sampled value within rtol (the samples relative to the
// features' RMS, so that values near zero do not fail on rounding).
func compareFeatures(feats []float32, ref *FeatureFingerprint, rtol float64) (bool, string) {
	n := 1
	for _, d := range ref.Shape {
		n *= d
	}
	if n != len(feats) {
		return false, fmt.Sprintf("%d values, reference shape %v", len(feats), ref.Shape)
	}
	var sum, l2 float64
	for _, v := range feats {
		sum += float64(v)
		l2 += float64(v) * float64(v)
	}
	l2 = math.Sqrt(l2)
	rms := l2 / math.Sqrt(float64(n))
	worst := 0.0
	for k, i := range ref.Samples.Index {
		if i < 0 || i >= n || k >= len(ref.Samples.Values) {
			return false, fmt.Sprintf("sample index %d out of range", i)
		}
		worst = max(worst, math.Abs(float64(feats[i])-ref.Samples.Values[k])/rms)
	}
	l2Rel := math.Abs(l2-ref.L2) / ref.L2
	ok := l2Rel <= rtol && worst <= rtol && len(ref.Samples.Index) > 0
	return ok, fmt.Sprintf("L2 %.6g (reference %.6g, rel. diff %.2g), sum %.6g (reference %.6g), largest sample diff %.2g x RMS; tolerance %.0e",
		l2, ref.L2, l2Rel, sum, ref.Sum, worst, rtol)
}

// VisionFeatures runs the vision graph on a preprocessed [3,S,S] tensor and
// returns its [N×H] features as float32.
func (m *Model) VisionFeatures(ctx context.Context, pixels []float32) ([]float32, error) {
	n := m.Manifest.ImageTokens * m.Manifest.HiddenSize
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.decoder == nil && m.bound == nil {
		return nil, fmt.Errorf("model is closed")
	}
	loop, err := m.newLoop(ctx, 1, 1) // either generation loop runs the vision graph
	if err != nil {
		return nil, err
	}
	defer loop.release()
	buf := floatBuf(n * elemSize(m.spec.embedType))
	if err := loop.vision(pixels, buf); err != nil {
		return nil, err
	}
	out := make([]float32, n)
	if m.spec.embedType == ort.TensorElementDataTypeFloat16 {
		hs := unsafe.Slice((*uint16)(unsafe.Pointer(&buf[0])), n)
		for i, h := range hs {
			out[i] = f16ToF32(h)
		}
	} else {
		copy(out, unsafe.Slice((*float32)(unsafe.Pointer(&buf[0])), n))
	}
	return out, nil
}
