package inference

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// SchemaVersion is the newest model.json schema this radraft reads. Version
// 2 adds "input_rendering" (required) and "references" (optional); a
// version 1 file is read as input_rendering "display", no references.
const SchemaVersion = 2

// Manifest is a bundle's model.json (schema_version 1 or 2, written by
// deploy/export/radraft_bundle.py; see models/demo/README.md). The nested
// document is read into the JSON-tagged parts; the flat fields below them
// are what the code uses.
type Manifest struct {
	SchemaVersion int    `json:"schema_version"`
	Name          string `json:"name"`
	Version       string `json:"version"`
	// Demo marks the bundled toy model: its text is meaningless.
	Demo   bool   `json:"demo"`
	Notice string `json:"note"`
	// InputRendering names how a DICOM becomes the model's 8-bit input
	// (RenderingDisplay, RenderingMIMICCXRJPG).
	InputRendering string `json:"input_rendering"`
	// References is the bundle's folder of reference outputs (`radraft
	// model check --reference`), relative to the bundle; "" = none.
	References string `json:"references"`

	Files struct {
		Vision    string `json:"vision"`
		Embedding string `json:"embedding"`
		Decoder   string `json:"decoder"`
		Tokenizer string `json:"tokenizer"`
	} `json:"files"`
	DType string `json:"dtype"`
	Image struct {
		Size       int        `json:"size"`
		TokenCount int        `json:"token_count"`
		Mean       [3]float32 `json:"mean"`
		Std        [3]float32 `json:"std"`
	} `json:"image"`
	Tokenizer struct {
		VocabSize int   `json:"vocab_size"`
		BOS       int64 `json:"bos_id"`
		EOS       int64 `json:"eos_id"`
	} `json:"tokenizer"`
	Decoder struct {
		NumLayers  int `json:"num_layers"`
		HiddenSize int `json:"hidden_size"`
		NumHeads   int `json:"num_heads"`
		NumKVHeads int `json:"num_kv_heads"`
		HeadSize   int `json:"head_size"`
		VocabSize  int `json:"vocab_size"`
		// ContextLength is the longest prefill + generation the decoder
		// supports (0 = not stated).
		ContextLength int `json:"context_length"`
	} `json:"decoder"`
	Generation struct {
		MaxNewTokens int `json:"max_new_tokens"`
	} `json:"generation"`
	// Prompt is the conversation template, read by inference/prompt.
	Prompt json.RawMessage `json:"prompt"`

	ImageSize   int        `json:"-"`
	ImageMean   [3]float32 `json:"-"`
	ImageStd    [3]float32 `json:"-"`
	ImageTokens int        `json:"-"`

	HiddenSize int `json:"-"`
	NumLayers  int `json:"-"`
	NumHeads   int `json:"-"`
	NumKVHeads int `json:"-"`
	HeadSize   int `json:"-"`
	VocabSize  int `json:"-"`

	BOS          int64 `json:"-"`
	EOS          int64 `json:"-"`
	MaxNewTokens int   `json:"-"`

	// Raw is the whole file, for fields this struct does not name.
	Raw json.RawMessage `json:"-"`
}

// ReadManifest reads and checks dir/model.json.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		return nil, fmt.Errorf("model bundle %s: %w", dir, err)
	}
	m := &Manifest{Raw: b}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("model bundle %s: model.json: %w", dir, err)
	}
	m.fillDerived()
	var problems []string
	need := func(ok bool, f string, a ...any) {
		if !ok {
			problems = append(problems, fmt.Sprintf(f, a...))
		}
	}
	need(m.SchemaVersion >= 1 && m.SchemaVersion <= SchemaVersion, "schema_version %d: this radraft reads 1 to %d", m.SchemaVersion, SchemaVersion)
	switch {
	case m.SchemaVersion == 1 && (m.InputRendering != "" || m.References != ""):
		problems = append(problems, "input_rendering and references need schema_version 2")
	case m.SchemaVersion == 1:
		m.InputRendering = RenderingDisplay
	case m.InputRendering == "":
		problems = append(problems, "input_rendering is missing (schema_version 2)")
	}
	if _, err := ModelInput[DICOMImage](m.InputRendering, nil); m.InputRendering != "" && err != nil {
		problems = append(problems, err.Error())
	}
	need(m.Name != "", "name is missing")
	need(m.Version != "", "version is missing")
	need(m.ImageSize > 0, "image.size must be > 0")
	need(m.ImageTokens > 0, "image.token_count must be > 0")
	need(m.HiddenSize > 0, "decoder.hidden_size must be > 0")
	need(m.NumLayers > 0, "decoder.num_layers must be > 0")
	need(m.NumKVHeads > 0, "decoder.num_kv_heads (or num_heads) must be > 0")
	need(m.HeadSize > 0, "decoder.head_size must be > 0")
	need(m.VocabSize > 0, "decoder.vocab_size must be > 0")
	need(m.MaxNewTokens > 0, "generation.max_new_tokens must be > 0")
	for _, s := range m.ImageStd {
		need(s != 0, "image.std has a zero")
	}
	if m.References != "" {
		if st, err := os.Stat(filepath.Join(dir, m.References)); err != nil || !st.IsDir() {
			problems = append(problems, fmt.Sprintf("references %s is not a folder of the bundle", m.References))
		}
	}
	for _, f := range []string{m.Files.Vision, m.Files.Embedding, m.Files.Decoder, m.Files.Tokenizer} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			problems = append(problems, fmt.Sprintf("file %s: %v", f, errors.Unwrap(err)))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("model bundle %s: %s", dir, strings.Join(problems, "; "))
	}
	return m, nil
}

// fillDerived copies the nested sections' values to the Manifest's flat
// fields and fills the defaults of what model.json may leave out (file
// names, max_new_tokens, CLIP normalisation, KV heads, head size).
func (m *Manifest) fillDerived() {
	m.ImageSize, m.ImageTokens, m.ImageMean, m.ImageStd = m.Image.Size, m.Image.TokenCount, m.Image.Mean, m.Image.Std
	d := m.Decoder
	m.HiddenSize, m.NumLayers, m.NumHeads, m.NumKVHeads, m.HeadSize, m.VocabSize =
		d.HiddenSize, d.NumLayers, d.NumHeads, d.NumKVHeads, d.HeadSize, d.VocabSize
	if m.VocabSize == 0 {
		m.VocabSize = m.Tokenizer.VocabSize
	}
	m.BOS, m.EOS, m.MaxNewTokens = m.Tokenizer.BOS, m.Tokenizer.EOS, m.Generation.MaxNewTokens
	if m.Files.Vision == "" {
		m.Files.Vision = "vision.onnx"
	}
	if m.Files.Embedding == "" {
		m.Files.Embedding = "embedding.onnx"
	}
	if m.Files.Decoder == "" {
		m.Files.Decoder = "decoder.onnx"
	}
	if m.Files.Tokenizer == "" {
		m.Files.Tokenizer = "tokenizer.model"
	}
	if m.MaxNewTokens == 0 {
		m.MaxNewTokens = 256
	}
	if m.ImageMean == ([3]float32{}) {
		m.ImageMean = CLIPMean
	}
	if m.ImageStd == ([3]float32{}) {
		m.ImageStd = CLIPStd
	}
	if m.NumKVHeads == 0 {
		m.NumKVHeads = m.NumHeads
	}
	if m.HeadSize == 0 && m.NumHeads > 0 {
		m.HeadSize = m.HiddenSize / m.NumHeads
	}
}

// graphIO is a graph's inputs and outputs by name.
type graphIO struct {
	in, out map[string]ort.InputOutputInfo
	inNames []string
}

func readGraphIO(path string) (*graphIO, error) {
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	g := &graphIO{in: map[string]ort.InputOutputInfo{}, out: map[string]ort.InputOutputInfo{}}
	for _, i := range ins {
		g.in[i.Name] = i
		g.inNames = append(g.inNames, i.Name)
	}
	for _, o := range outs {
		g.out[o.Name] = o
	}
	return g, nil
}

// checker collects shape problems of one graph.
type checker struct {
	file     string
	problems []string
}

func (c *checker) add(f string, a ...any) {
	c.problems = append(c.problems, fmt.Sprintf(f, a...))
}

// tensor checks that io has name with the given rank, element type (one of
// types; empty = any float) and fixed dims (-1 = any; a symbolic dim in the
// graph fits anything).
func (c *checker) tensor(io map[string]ort.InputOutputInfo, kind, name string, dims []int64, types ...ort.TensorElementDataType) (ort.InputOutputInfo, bool) {
	info, ok := io[name]
	if !ok {
		names := make([]string, 0, len(io))
		for n := range io {
			names = append(names, n)
		}
		c.add("no %s %q (has %s)", kind, name, strings.Join(names, ", "))
		return info, false
	}
	if info.OrtValueType != ort.ONNXTypeTensor {
		c.add("%s %q is not a tensor", kind, name)
		return info, false
	}
	if len(types) == 0 {
		types = []ort.TensorElementDataType{ort.TensorElementDataTypeFloat, ort.TensorElementDataTypeFloat16}
	}
	okType := false
	for _, t := range types {
		okType = okType || info.DataType == t
	}
	if !okType {
		c.add("%s %q has type %s", kind, name, info.DataType)
	}
	if len(info.Dimensions) != len(dims) {
		c.add("%s %q has shape %v, want rank %d", kind, name, info.Dimensions, len(dims))
		return info, false
	}
	for i, d := range dims {
		if d >= 0 && info.Dimensions[i] > 0 && info.Dimensions[i] != d {
			c.add("%s %q has shape %v: dim %d is %d, model.json says %d", kind, name, info.Dimensions, i, info.Dimensions[i], d)
		}
	}
	return info, true
}

func (c *checker) err() error {
	if len(c.problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s does not fit model.json: %s", c.file, strings.Join(c.problems, "; "))
}

// graphSpec is what validation learned about the three graphs.
type graphSpec struct {
	pixelType   ort.TensorElementDataType
	embedType   ort.TensorElementDataType
	kvType      ort.TensorElementDataType
	logitsType  ort.TensorElementDataType
	decInputs   []string // in the order the decoder session is created with
	decOutputs  []string
	positionIDs bool
	probeVision bool
}

// validate checks the three graphs against the manifest.
func validate(dir string, m *Manifest) (*graphSpec, error) {
	s := &graphSpec{}
	visionType, err := s.checkVision(dir, m)
	if err != nil {
		return nil, err
	}
	if err := s.checkEmbedding(dir, m, visionType); err != nil {
		return nil, err
	}
	if err := s.checkDecoder(dir, m); err != nil {
		return nil, err
	}
	return s, nil
}

// checkVision checks the vision graph's pixel_values input and
// image_features output, and returns the latter's element type.
func (s *graphSpec) checkVision(dir string, m *Manifest) (ort.TensorElementDataType, error) {
	H, N, S := int64(m.HiddenSize), int64(m.ImageTokens), int64(m.ImageSize)
	vio, err := readGraphIO(filepath.Join(dir, m.Files.Vision))
	if err != nil {
		return 0, err
	}
	c := &checker{file: m.Files.Vision}
	if in, ok := c.tensor(vio.in, "input", "pixel_values", []int64{-1, 3, S, S}); ok {
		s.pixelType = in.DataType
	}
	vout, ok := c.tensor(vio.out, "output", "image_features", []int64{-1, N, H})
	if ok && (vout.Dimensions[1] <= 0 || vout.Dimensions[2] <= 0) {
		s.probeVision = true // symbolic: checked by a run at load
	}
	return vout.DataType, c.err()
}

// checkEmbedding checks the embedding graph, whose output must have the
// vision graph's element type.
func (s *graphSpec) checkEmbedding(dir string, m *Manifest, visionType ort.TensorElementDataType) error {
	H := int64(m.HiddenSize)
	eio, err := readGraphIO(filepath.Join(dir, m.Files.Embedding))
	if err != nil {
		return err
	}
	c := &checker{file: m.Files.Embedding}
	c.tensor(eio.in, "input", "input_ids", []int64{-1, -1}, ort.TensorElementDataTypeInt64)
	if out, ok := c.tensor(eio.out, "output", "inputs_embeds", []int64{-1, -1, H}); ok {
		s.embedType = out.DataType
		if visionType != out.DataType {
			c.add("inputs_embeds is %s but the vision graph's image_features is %s", out.DataType, visionType)
		}
	}
	return c.err()
}

// checkDecoder checks the decoder graph's inputs and outputs, layer by
// layer, and records the order the decoder session is created with.
func (s *graphSpec) checkDecoder(dir string, m *Manifest) error {
	H, kv, hd := int64(m.HiddenSize), int64(m.NumKVHeads), int64(m.HeadSize)
	dio, err := readGraphIO(filepath.Join(dir, m.Files.Decoder))
	if err != nil {
		return err
	}
	c := &checker{file: m.Files.Decoder}
	if in, ok := c.tensor(dio.in, "input", "inputs_embeds", []int64{-1, -1, H}); ok && in.DataType != s.embedType {
		c.add("inputs_embeds is %s but embedding.onnx gives %s", in.DataType, s.embedType)
	}
	c.tensor(dio.in, "input", "attention_mask", []int64{-1, -1}, ort.TensorElementDataTypeInt64)
	s.decInputs = []string{"inputs_embeds", "attention_mask"}
	if _, ok := dio.in["position_ids"]; ok {
		c.tensor(dio.in, "input", "position_ids", []int64{-1, -1}, ort.TensorElementDataTypeInt64)
		s.positionIDs = true
		s.decInputs = append(s.decInputs, "position_ids")
	}
	if lo, ok := c.tensor(dio.out, "output", "logits", []int64{-1, -1, int64(m.VocabSize)}); ok {
		s.logitsType = lo.DataType
	}
	s.decOutputs = []string{"logits"}
	// Count the layers the graph has, to name a mismatch plainly.
	layers := 0
	for name := range dio.in {
		if strings.HasPrefix(name, "past_key_values.") && strings.HasSuffix(name, ".key") {
			if n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "past_key_values."), ".key")); err == nil && n+1 > layers {
				layers = n + 1
			}
		}
	}
	if layers != m.NumLayers {
		c.add("graph has %d layers of past_key_values, model.json says decoder.num_layers %d", layers, m.NumLayers)
	}
	for i := 0; i < m.NumLayers; i++ {
		for _, kvName := range []string{"key", "value"} {
			pin, ok := c.tensor(dio.in, "input", fmt.Sprintf("past_key_values.%d.%s", i, kvName), []int64{-1, kv, -1, hd})
			if ok {
				if s.kvType == 0 {
					s.kvType = pin.DataType
				} else if pin.DataType != s.kvType {
					c.add("past_key_values.%d.%s is %s, others %s", i, kvName, pin.DataType, s.kvType)
				}
			}
			c.tensor(dio.out, "output", fmt.Sprintf("present.%d.%s", i, kvName), []int64{-1, kv, -1, hd}, pin.DataType)
			s.decInputs = append(s.decInputs, fmt.Sprintf("past_key_values.%d.%s", i, kvName))
			s.decOutputs = append(s.decOutputs, fmt.Sprintf("present.%d.%s", i, kvName))
		}
	}
	known := map[string]bool{}
	for _, n := range s.decInputs {
		known[n] = true
	}
	for _, n := range dio.inNames {
		if !known[n] {
			c.add("unexpected input %q (radraft feeds %s)", n, "inputs_embeds, attention_mask, position_ids, past_key_values.N.key/value")
		}
	}
	return c.err()
}
