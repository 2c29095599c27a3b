// Package tokenizer is a pure-Go SentencePiece tokenizer for BPE models, the
// kind Llama and Vicuna (and so LLaVA-Rad) use: it reads a tokenizer.model
// (the ModelProto protobuf), encodes text to ids exactly as the reference
// C++ implementation does (identity normalisation, optional dummy prefix
// "▁", spaces escaped to "▁", optional collapsing of extra spaces,
// user-defined symbols, highest-score-first pair merging with leftmost ties,
// byte fallback to <0xNN> pieces) and decodes ids back to text (control
// pieces invisible, byte pieces joined into UTF-8 with U+FFFD for invalid
// bytes, the leading "▁" of the first piece dropped).
//
// Why not a library: the one maintained pure-Go SentencePiece module on the
// Go proxy, github.com/eliben/go-sentencepiece (v0.6.0, written for Gemma),
// refuses models whose normaliser adds a dummy prefix or removes extra
// whitespace ("normalizer spec options not supported"), and Llama/Vicuna's
// tokenizer.model has add_dummy_prefix=true; so this is a small
// implementation of its own. The protobuf is decoded by
// hand with google.golang.org/protobuf/encoding/protowire: only a dozen
// fields are needed, and the generated sentencepiece_model.proto code would
// be a larger file than the tokenizer.
//
// Not supported (Load reports an error): unigram, word and char models, and
// normalisers with a precompiled character map (nmt_nfkc and friends);
// Llama/Vicuna's model uses BPE with the "identity" normaliser.
//
// The tests compare ids and decoded text with Python sentencepiece on a
// committed set of sentences (testdata/make_cases.py), and prove the real
// Llama-2/Vicuna vocabulary: a tokenizer.model built from the npm package
// llama-tokenizer-js (testdata/llama/make_llama_model.py) gives the ids of
// the package's own cases (made by the real tokenizer) and Python
// sentencepiece's ids on ~500 radiology sentences, prompts and odd strings.
package tokenizer

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// PieceType is SentencePiece's ModelProto.SentencePiece.Type.
type PieceType int32

const (
	Normal      PieceType = 1
	Unknown     PieceType = 2
	Control     PieceType = 3
	UserDefined PieceType = 4
	Unused      PieceType = 5
	Byte        PieceType = 6
)

const spaceSymbol = "\u2581" // ▁

type piece struct {
	text  string
	score float32
	typ   PieceType
	b     byte // the byte of a Byte piece
}

// Tokenizer is a loaded SentencePiece BPE model. It is immutable and safe
// for concurrent use.
type Tokenizer struct {
	pieces   []piece
	normal   map[string]int32 // normal, user-defined and unused pieces (merge candidates)
	reserved map[string]int32 // control, unknown and byte pieces
	byteID   [256]int32       // id of <0xNN>, -1 when absent
	user     []string         // user-defined symbols, longest first

	unk, bos, eos, pad int32
	byteFallback       bool
	addDummyPrefix     bool
	removeExtraSpaces  bool
	escapeSpaces       bool
	unkSurface         string
}

// Load reads a tokenizer.model file.
func Load(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse reads a serialized SentencePiece ModelProto.
func Parse(b []byte) (*Tokenizer, error) {
	t := &Tokenizer{
		normal: map[string]int32{}, reserved: map[string]int32{},
		unk: -1, bos: -1, eos: -1, pad: -1,
		// NormalizerSpec defaults (proto2 defaults of sentencepiece_model.proto)
		addDummyPrefix: true, removeExtraSpaces: true, escapeSpaces: true,
		unkSurface: " \u2047 ",
	}
	for i := range t.byteID {
		t.byteID[i] = -1
	}
	modelType := int64(1) // UNIGRAM is the proto default
	var charsmap []byte
	var normName string
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch num {
		case 1: // pieces
			p, err := parsePiece(v)
			if err != nil {
				return err
			}
			t.pieces = append(t.pieces, p)
		case 2: // trainer_spec
			return fields(v, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
				switch num {
				case 3:
					modelType = int64(n)
				case 35:
					t.byteFallback = n != 0
				case 44:
					t.unkSurface = string(v)
				}
				return nil
			})
		case 3: // normalizer_spec
			return fields(v, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
				switch num {
				case 1:
					normName = string(v)
				case 2:
					charsmap = v
				case 3:
					t.addDummyPrefix = n != 0
				case 4:
					t.removeExtraSpaces = n != 0
				case 5:
					t.escapeSpaces = n != 0
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sentencepiece model: %w", err)
	}
	if len(t.pieces) == 0 {
		return nil, errors.New("sentencepiece model: no pieces (not a tokenizer.model?)")
	}
	if modelType != 2 {
		names := map[int64]string{1: "unigram", 2: "bpe", 3: "word", 4: "char"}
		return nil, fmt.Errorf("sentencepiece model type %s (%d): only BPE models are supported", names[modelType], modelType)
	}
	if len(charsmap) > 0 {
		return nil, fmt.Errorf("sentencepiece normaliser %q with a precompiled character map is not supported (only identity)", normName)
	}
	if err := t.index(); err != nil {
		return nil, err
	}
	sort.SliceStable(t.user, func(i, j int) bool { return len(t.user[i]) > len(t.user[j]) })
	return t, nil
}

// index fills the piece maps (normal and user-defined pieces by text,
// reserved ones apart), the byte-fallback table and the special ids from
// t.pieces, refusing a piece listed twice, a malformed byte piece, a model
// without an unknown piece, or byte fallback without all 256 byte pieces.
func (t *Tokenizer) index() error {
	for i, p := range t.pieces {
		id := int32(i)
		switch p.typ {
		case Normal, UserDefined, Unused:
			if _, dup := t.normal[p.text]; dup {
				return fmt.Errorf("sentencepiece model: piece %q twice", p.text)
			}
			t.normal[p.text] = id
			if p.typ == UserDefined {
				t.user = append(t.user, p.text)
			}
		default:
			if _, dup := t.reserved[p.text]; dup {
				return fmt.Errorf("sentencepiece model: piece %q twice", p.text)
			}
			t.reserved[p.text] = id
		}
		switch p.typ {
		case Unknown:
			t.unk = id
		case Byte:
			var v int
			if _, err := fmt.Sscanf(p.text, "<0x%02X>", &v); err != nil || len(p.text) != 6 || v > 255 {
				return fmt.Errorf("sentencepiece model: byte piece %q", p.text)
			}
			t.byteID[v] = id
			t.pieces[i].b = byte(v)
		case Control:
			switch p.text {
			case "<s>":
				t.bos = id
			case "</s>":
				t.eos = id
			case "<pad>":
				t.pad = id
			}
		}
	}
	if t.unk < 0 {
		return errors.New("sentencepiece model: no unknown piece")
	}
	if t.byteFallback {
		for i, id := range t.byteID {
			if id < 0 {
				return fmt.Errorf("sentencepiece model: byte_fallback without piece <0x%02X>", i)
			}
		}
	}
	return nil
}

// fields walks the fields of one protobuf message; for varints n is the
// value, for length-delimited fields v the bytes, for fixed32 n the bits.
func fields(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error) error {
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		var v []byte
		var n uint64
		switch typ {
		case protowire.VarintType:
			n, l = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, l = protowire.ConsumeBytes(b)
		case protowire.Fixed32Type:
			var x uint32
			x, l = protowire.ConsumeFixed32(b)
			n = uint64(x)
		default:
			l = protowire.ConsumeFieldValue(num, typ, b)
		}
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		if err := f(num, typ, v, n); err != nil {
			return err
		}
	}
	return nil
}

func parsePiece(b []byte) (piece, error) {
	p := piece{typ: Normal}
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch num {
		case 1:
			p.text = string(v)
		case 2:
			p.score = math.Float32frombits(uint32(n))
		case 3:
			p.typ = PieceType(n)
		}
		return nil
	})
	return p, err
}

// VocabSize is the number of pieces.
func (t *Tokenizer) VocabSize() int { return len(t.pieces) }

// BOS, EOS, UNK and Pad are the special ids (-1 when the model has none).
func (t *Tokenizer) BOS() int64 { return int64(t.bos) }
func (t *Tokenizer) EOS() int64 { return int64(t.eos) }
func (t *Tokenizer) UNK() int64 { return int64(t.unk) }
func (t *Tokenizer) Pad() int64 { return int64(t.pad) }

// Piece is the text of piece id ("" when out of range).
func (t *Tokenizer) Piece(id int64) string {
	if id < 0 || id >= int64(len(t.pieces)) {
		return ""
	}
	return t.pieces[id].text
}

// Type is the type of piece id (0 when out of range).
func (t *Tokenizer) Type(id int64) PieceType {
	if id < 0 || id >= int64(len(t.pieces)) {
		return 0
	}
	return t.pieces[id].typ
}

// ID is the id of a piece, the unknown id when there is none.
func (t *Tokenizer) ID(p string) int64 {
	if id, ok := t.reserved[p]; ok {
		return int64(id)
	}
	if id, ok := t.normal[p]; ok {
		return int64(id)
	}
	return int64(t.unk)
}

// normalize applies the identity normaliser: optional removal of leading,
// trailing and repeated spaces, the dummy prefix, spaces to "▁".
func (t *Tokenizer) normalize(s string) string {
	if t.removeExtraSpaces {
		s = strings.Trim(s, " ")
		if strings.Contains(s, "  ") {
			var b strings.Builder
			prev := false
			for i := 0; i < len(s); i++ {
				c := s[i]
				if c == ' ' && prev {
					continue
				}
				prev = c == ' '
				b.WriteByte(c)
			}
			s = b.String()
		}
	}
	if s == "" {
		return ""
	}
	if t.addDummyPrefix {
		s = " " + s
	}
	if t.escapeSpaces {
		s = strings.ReplaceAll(s, " ", spaceSymbol)
	}
	return s
}

// Encode turns text into piece ids (no BOS or EOS).
func (t *Tokenizer) Encode(text string) []int64 {
	return t.encodeNormalized(t.normalize(strings.ToValidUTF8(text, "\uFFFD")), nil)
}

// EncodePieces is Encode returning the piece texts (byte fallback shows as
// <0xNN>), for debugging.
func (t *Tokenizer) EncodePieces(text string) []string {
	ids := t.Encode(text)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = t.Piece(id)
	}
	return out
}

type symbol struct {
	start, end int // byte range in the normalized text
	prev, next int
	freeze     bool
}

type pair struct {
	left, right int
	score       float32
	size        int
}

type agenda []pair

func (a agenda) Len() int { return len(a) }
func (a agenda) Less(i, j int) bool {
	if a[i].score != a[j].score {
		return a[i].score > a[j].score
	}
	return a[i].left < a[j].left
}
func (a agenda) Swap(i, j int) { a[i], a[j] = a[j], a[i] }
func (a *agenda) Push(x any)   { *a = append(*a, x.(pair)) }
func (a *agenda) Pop() any {
	old := *a
	x := old[len(old)-1]
	*a = old[:len(old)-1]
	return x
}

func (t *Tokenizer) encodeNormalized(s string, out []int64) []int64 {
	if s == "" {
		return out
	}
	// Split into characters, user-defined symbols kept whole (and frozen).
	syms := make([]symbol, 0, len(s))
	for i := 0; i < len(s); {
		n, freeze := 0, false
		for _, u := range t.user {
			if strings.HasPrefix(s[i:], u) {
				n, freeze = len(u), true
				break
			}
		}
		if n == 0 {
			_, n = utf8.DecodeRuneInString(s[i:])
		}
		syms = append(syms, symbol{start: i, end: i + n, prev: len(syms) - 1, next: len(syms) + 1, freeze: freeze})
		i += n
	}
	syms[len(syms)-1].next = -1

	var ag agenda
	add := func(l, r int) {
		if l < 0 || r < 0 || syms[l].freeze || syms[r].freeze {
			return
		}
		p := s[syms[l].start:syms[r].end]
		id, ok := t.normal[p]
		if !ok {
			return
		}
		heap.Push(&ag, pair{left: l, right: r, score: t.pieces[id].score, size: len(p)})
	}
	for i := 1; i < len(syms); i++ {
		add(i-1, i)
	}
	for ag.Len() > 0 {
		top := heap.Pop(&ag).(pair)
		l, r := &syms[top.left], &syms[top.right]
		if l.end == l.start || r.end == r.start || (l.end-l.start)+(r.end-r.start) != top.size || l.next != top.right {
			continue // stale
		}
		l.end = r.end
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = top.left
		}
		r.start, r.end = 0, 0
		add(l.prev, top.left)
		add(top.left, l.next)
	}
	for i := 0; i >= 0; i = syms[i].next {
		out = t.emit(s[syms[i].start:syms[i].end], out)
	}
	return out
}

// emit appends the id of one final symbol; a symbol without a piece (or
// whose piece is marked unused) becomes its bytes with byte fallback, else
// the unknown id. (SentencePiece re-segments unused pieces into the pair
// they were merged from; trained BPE models have none, so that is left out.)
func (t *Tokenizer) emit(p string, out []int64) []int64 {
	if id, ok := t.normal[p]; ok && t.pieces[id].typ != Unused {
		return append(out, int64(id))
	}
	if id, ok := t.reserved[p]; ok && t.pieces[id].typ != Byte {
		// A merged text equal to a control piece cannot happen (merges only
		// use normal pieces); a single character that is one can, in theory.
		return append(out, int64(id))
	}
	if t.byteFallback {
		for i := 0; i < len(p); i++ {
			out = append(out, int64(t.byteID[p[i]]))
		}
		return out
	}
	return append(out, int64(t.unk))
}

// Decode turns ids into text: control pieces (BOS, EOS, pad) vanish, the
// unknown piece shows as " ⁇ ", byte pieces are joined into UTF-8 (each
// invalid byte becomes U+FFFD), "▁" becomes a space and the first piece's
// leading "▁" (the dummy prefix) is dropped. Out-of-range ids are skipped.
func (t *Tokenizer) Decode(ids []int64) string {
	var b strings.Builder
	var bytes []byte
	flush := func() {
		for len(bytes) > 0 {
			r, n := utf8.DecodeRune(bytes)
			if r == utf8.RuneError && n <= 1 {
				b.WriteString("\uFFFD")
				n = 1
			} else {
				b.Write(bytes[:n])
			}
			bytes = bytes[n:]
		}
	}
	first := true
	for _, id := range ids {
		if id < 0 || id >= int64(len(t.pieces)) {
			continue
		}
		p := t.pieces[id]
		switch p.typ {
		case Control:
			continue
		case Byte:
			bytes = append(bytes, p.b)
			first = false
			continue
		}
		flush()
		switch p.typ {
		case Unknown:
			b.WriteString(t.unkSurface)
		default:
			text := p.text
			if first && (t.addDummyPrefix || t.removeExtraSpaces) {
				text = strings.TrimPrefix(text, spaceSymbol)
			}
			b.WriteString(strings.ReplaceAll(text, spaceSymbol, " "))
		}
		first = false
	}
	flush()
	return b.String()
}
