package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type cases struct {
	Models []struct {
		Model     string `json:"model"`
		VocabSize int    `json:"vocab_size"`
		BOS       int64  `json:"bos_id"`
		EOS       int64  `json:"eos_id"`
		UNK       int64  `json:"unk_id"`
		Pad       int64  `json:"pad_id"`
		Encode    []struct {
			Text    string   `json:"text"`
			IDs     []int64  `json:"ids"`
			Pieces  []string `json:"pieces"`
			Decoded string   `json:"decoded"`
		} `json:"encode"`
		Decode []struct {
			IDs  []int64 `json:"ids"`
			Text string  `json:"text"`
		} `json:"decode"`
	} `json:"models"`
}

// TestMatchesPythonSentencePiece compares with the ids and texts Python
// sentencepiece gave (testdata/make_cases.py) for the demo model and a model
// with the other normaliser switches.
func TestMatchesPythonSentencePiece(t *testing.T) {
	b, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var c cases
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Models) < 2 {
		t.Fatal("cases.json has no models")
	}
	for _, m := range c.Models {
		t.Run(filepath.Base(m.Model), func(t *testing.T) {
			tok, err := Load(filepath.Join("testdata", m.Model))
			if err != nil {
				t.Fatal(err)
			}
			if tok.VocabSize() != m.VocabSize || tok.BOS() != m.BOS || tok.EOS() != m.EOS || tok.UNK() != m.UNK || tok.Pad() != m.Pad {
				t.Fatalf("vocab %d bos %d eos %d unk %d pad %d, want %d %d %d %d %d", tok.VocabSize(), tok.BOS(), tok.EOS(), tok.UNK(), tok.Pad(),
					m.VocabSize, m.BOS, m.EOS, m.UNK, m.Pad)
			}
			for _, e := range m.Encode {
				got := tok.Encode(e.Text)
				if len(got) == 0 {
					got = []int64{}
				}
				if !reflect.DeepEqual(got, e.IDs) {
					t.Errorf("Encode(%q)\n got %v %q\nwant %v %q", e.Text, got, tok.EncodePieces(e.Text), e.IDs, e.Pieces)
				}
				if d := tok.Decode(e.IDs); d != e.Decoded {
					t.Errorf("Decode(Encode(%q)) = %q, want %q", e.Text, d, e.Decoded)
				}
			}
			for _, d := range m.Decode {
				if got := tok.Decode(d.IDs); got != d.Text {
					t.Errorf("Decode(%v) = %q, want %q", d.IDs, got, d.Text)
				}
			}
		})
	}
}

func TestRejects(t *testing.T) {
	if _, err := Parse([]byte("not a model")); err == nil {
		t.Error("garbage accepted")
	}
	if _, err := Parse(nil); err == nil || !strings.Contains(err.Error(), "no pieces") {
		t.Errorf("empty: %v", err)
	}
	if _, err := Load("testdata/missing.model"); err == nil {
		t.Error("missing file accepted")
	}
}

func TestPieces(t *testing.T) {
	tok, err := Load("../../models/demo/tokenizer.model")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Piece(1) != "<s>" || tok.Piece(2) != "</s>" || tok.Piece(0) != "<unk>" || tok.Type(1) != Control || tok.Type(3) != Byte {
		t.Errorf("specials: %q %q %q", tok.Piece(0), tok.Piece(1), tok.Piece(2))
	}
	if tok.ID("<0x0A>") != 13 || tok.ID("no such piece") != 0 {
		t.Errorf("ID")
	}
	if tok.Piece(-1) != "" || tok.Piece(1<<40) != "" {
		t.Error("out of range")
	}
}

func BenchmarkEncode(b *testing.B) {
	tok, err := Load("../../models/demo/tokenizer.model")
	if err != nil {
		b.Fatal(err)
	}
	s := "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions. USER: "
	for i := 0; i < b.N; i++ {
		tok.Encode(s)
	}
}
