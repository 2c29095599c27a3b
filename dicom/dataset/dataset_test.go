package dataset

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	sdicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/radraft/radraft/internal/testfiles"
)

func el(g, e uint16, vr string, v []byte) []byte { return elLen(g, e, vr, uint32(len(v)), v) }

func elLen(g, e uint16, vr string, n uint32, v []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, g)
	b = binary.LittleEndian.AppendUint16(b, e)
	b = append(b, vr...)
	if longVR[vr] {
		b = append(b, 0, 0)
		b = binary.LittleEndian.AppendUint32(b, n)
	} else {
		b = binary.LittleEndian.AppendUint16(b, uint16(n))
	}
	return append(b, v...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var (
	tName  = Tag{0x0010, 0x0010}
	tSOP   = Tag{0x0008, 0x0018}
	tRows  = Tag{0x0028, 0x0010}
	tView  = Tag{0x0054, 0x0220}
	tCode  = Tag{0x0008, 0x0100}
	wanted = Want{Tags: []Tag{tName, tSOP, tRows}, Sequences: map[Tag][]Tag{tView: {tCode}}}
)

func readLE(t *testing.T, ds []byte) (*Dataset, error) {
	t.Helper()
	return Read(bytes.NewReader(ds), int64(len(ds)), "1.2.840.10008.1.2.1", wanted)
}

// The real CR of the test data (Implicit VR LE, 7.5 MB) reads to the same
// values as github.com/suyashkumar/dicom finds in it.
func TestRealCRMatchesAnotherParser(t *testing.T) {
	path := testfiles.CR(t)
	d, err := ReadFile(path, Want{Tags: []Tag{tSOP, tRows, {0x0020, 0x000D}, {0x0008, 0x0060}, {0x0028, 0x0004}}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	ref, err := sdicom.Parse(f, st.Size(), nil, sdicom.SkipPixelData())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		t  Tag
		rt tag.Tag
	}{{tSOP, tag.SOPInstanceUID}, {Tag{0x0020, 0x000D}, tag.StudyInstanceUID}, {Tag{0x0008, 0x0060}, tag.Modality},
		{Tag{0x0028, 0x0004}, tag.PhotometricInterpretation}} {
		e, err := ref.FindElementByTag(c.rt)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSpace(strings.Trim(e.Value.GetValue().([]string)[0], "\x00"))
		if got := d.String(c.t); got != want || got == "" {
			t.Errorf("%v: %q, the other parser says %q", c.t, got, want)
		}
	}
	e, _ := ref.FindElementByTag(tag.Rows)
	if got, want := d.Uint16(tRows), e.Value.GetValue().([]int)[0]; got != want {
		t.Errorf("rows %d, want %d", got, want)
	}
	if d.TransferSyntax != "1.2.840.10008.1.2" {
		t.Errorf("transfer syntax %q", d.TransferSyntax)
	}
}

// Every file of dicom/pixels/testdata (encapsulated JPEG and J2K, big
// endian, VOI LUT sequences) reads without error.
func TestPixelsTestdataReads(t *testing.T) {
	files, _ := filepath.Glob("../pixels/testdata/*.dcm")
	if len(files) < 5 {
		t.Fatalf("%d files", len(files))
	}
	for _, f := range files {
		if _, err := ReadFile(f, wanted); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}

// Declared lengths are checked against what is left: an element declaring
// ~4 GB with 16 bytes allocates nothing of the sort, and is ErrTruncated;
// so is a dataset ending inside its last element, even after the pixel data.
func TestDeclaredLengthsAreChecked(t *testing.T) {
	head := cat(el(0x0008, 0x0018, "UI", []byte("1.2.3.4\x00")), el(0x0010, 0x0010, "PN", []byte("DOE^J ")))
	for name, ds := range map[string][]byte{
		"private OB of 4 GB":      cat(head, elLen(0x0009, 0x1010, "OB", 0xFFFFFFF0, make([]byte, 16))),
		"kept PN of 60000 bytes":  cat(el(0x0008, 0x0018, "UI", []byte("1.2\x00")), elLen(0x0010, 0x0010, "PN", 60000, []byte("DOE"))),
		"after the pixel data":    cat(head, el(0x7FE0, 0x0010, "OB", []byte{1, 2}), elLen(0xFFFC, 0xFFFC, "OB", 100, []byte{0, 0, 0, 0})),
		"item longer than its SQ": cat(head, elLen(0x0054, 0x0220, "SQ", 8, []byte{0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0x00, 0x00, 0x00})),
		"element header cut":      cat(head, []byte{0x20, 0x00, 0x0D}),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := readLE(t, ds)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("%s: %v, want ErrTruncated", name, err)
		}
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 256<<10 {
			t.Errorf("%s: %d bytes allocated for %d bytes of input", name, grown, len(ds))
		}
	}
	// unknown size (a stream): the same, found when the input ends
	ds := cat(head, elLen(0x0009, 0x1010, "OB", 0xFFFFFFF0, make([]byte, 16)))
	if _, err := Read(bytes.NewReader(ds), -1, "1.2.840.10008.1.2.1", wanted); !errors.Is(err, ErrTruncated) {
		t.Errorf("stream: %v", err)
	}
}

// Text is decoded by the declared character set, else as UTF-8 when valid,
// else as Latin-1; NUL and control characters go.
func TestTextDecoding(t *testing.T) {
	for _, c := range []struct {
		charset string
		raw     string
		want    string
	}{
		{"", "M\xdcLLER^J\xd6RG ", "MÜLLER^JÖRG"},
		{"", "DOE\x00^JOHN ", "DOE^JOHN"},
		{"", "Zoë^Ünïcode", "Zoë^Ünïcode"},
		{"ISO_IR 100", "M\xfcller ", "Müller"},
		{"ISO_IR 192", "Müller ", "Müller"},
		{"ISO_IR 144", "\xbf\xe3\xe8\xda\xd8\xdd", "Пушкин"},
		{"GB18030", "\xd5\xc5^\xd0\xa1\xb6\xab", "张^小东"},
		{"\\ISO 2022 IR 100", "caf\xe9", "café"},
		{"ISO_IR 6", "BELL\x07^X", "BELL^X"},
	} {
		var cs []byte
		if c.charset != "" {
			cs = el(0x0008, 0x0005, "CS", []byte(c.charset+strings.Repeat(" ", len(c.charset)%2)))
		}
		raw := []byte(c.raw)
		if len(raw)%2 == 1 {
			raw = append(raw, ' ')
		}
		d, err := readLE(t, cat(cs, el(0x0010, 0x0010, "PN", raw)))
		if err != nil {
			t.Fatal(err)
		}
		if got := d.String(tName); got != c.want {
			t.Errorf("%q in %q: %q, want %q", c.raw, c.charset, got, c.want)
		}
	}
}

// Sequences: wanted ones are parsed (defined and undefined lengths, in
// Explicit and Implicit VR), others skipped whole; nesting is bounded.
func TestSequences(t *testing.T) {
	code := el(0x0008, 0x0100, "SH", []byte("399348003 "))
	item := cat([]byte{0xFE, 0xFF, 0x00, 0xE0}, binary.LittleEndian.AppendUint32(nil, uint32(len(code))), code)
	undefItem := cat([]byte{0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF}, code, []byte{0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0})
	seqEnd := []byte{0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0}
	for name, ds := range map[string][]byte{
		"defined":   el(0x0054, 0x0220, "SQ", item),
		"undefined": cat(elLen(0x0054, 0x0220, "SQ", 0xFFFFFFFF, nil), undefItem, seqEnd),
	} {
		d, err := readLE(t, cat(ds, el(0x0010, 0x0010, "PN", []byte("AFTER^SQ"))))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if items := d.Items(tView); len(items) != 1 || items[0].String(tCode) != "399348003" || d.String(tName) != "AFTER^SQ" {
			t.Errorf("%s: items %v, name %q", name, items, d.String(tName))
		}
	}
	// Implicit VR: the undefined-length sequence is found by its length.
	implCode := cat([]byte{0x08, 0x00, 0x00, 0x01}, binary.LittleEndian.AppendUint32(nil, 10), []byte("399348003 "))
	implItem := cat([]byte{0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF}, implCode, []byte{0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0})
	impl := cat(binary.LittleEndian.AppendUint16(nil, 0x0054), binary.LittleEndian.AppendUint16(nil, 0x0220),
		[]byte{0xFF, 0xFF, 0xFF, 0xFF}, implItem, seqEnd)
	d, err := Read(bytes.NewReader(impl), int64(len(impl)), "1.2.840.10008.1.2", wanted)
	if err != nil || len(d.Items(tView)) != 1 || d.Items(tView)[0].String(tCode) != "399348003" {
		t.Fatalf("implicit: %v", err)
	}
	// A nesting bomb: sequences of undefined length inside each other.
	bomb := []byte{}
	for i := 0; i < 50; i++ {
		bomb = append(bomb, elLen(0x0009, 0x1000, "SQ", 0xFFFFFFFF, nil)...)
		bomb = append(bomb, 0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF)
	}
	if _, err := readLE(t, bomb); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("nesting bomb: %v", err)
	}
}

// A deflated dataset streams through the decompressor.
func TestDeflated(t *testing.T) {
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestSpeed)
	w.Write(cat(el(0x0010, 0x0010, "PN", []byte("DEFLATED")), el(0x7FE0, 0x0010, "OB", make([]byte, 1000)))) //nolint:errcheck
	w.Close()
	d, err := Read(bytes.NewReader(z.Bytes()), int64(z.Len()), "1.2.840.10008.1.2.1.99", wanted)
	if err != nil || d.String(tName) != "DEFLATED" {
		t.Fatalf("%v %+v", err, d)
	}
}

// FuzzRead: any bytes read as a dataset: no panic, no allocation beyond a
// constant and a small multiple of the input.
func FuzzRead(f *testing.F) {
	f.Add(cat(el(0x0010, 0x0010, "PN", []byte("A^B ")), elLen(0x0009, 0x1010, "OB", 0xFFFFFFF0, nil)))
	f.Add(cat(elLen(0x0054, 0x0220, "SQ", 0xFFFFFFFF, nil), []byte{0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for _, ts := range []string{"1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"} {
			if d, err := Read(bytes.NewReader(b), int64(len(b)), ts, wanted); err == nil {
				d.String(tName)
				d.Strings(tSOP)
			}
		}
		runtime.ReadMemStats(&after)
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20+16*uint64(len(b)) {
			t.Fatalf("%d bytes of input allocated %d bytes", len(b), grown)
		}
	})
}
