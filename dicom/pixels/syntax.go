package pixels

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// parserAliases maps transfer syntaxes that github.com/suyashkumar/dicom's
// dictionary lacks (it then fails on the file) to a known encapsulated one
// of the same encoded length; both encode the dataset as explicit VR little
// endian, so the parse is the same. The real UID is put back after parsing.
var parserAliases = map[string]string{
	HTJ2KLossless:     "1.2.840.10008.1.2.4.100",
	HTJ2KLosslessRPCL: "1.2.840.10008.1.2.4.100",
	HTJ2K:             "1.2.840.10008.1.2.4.100",
}

// maxMetaLength bounds the File Meta Information group read ahead.
const maxMetaLength = 1 << 16

// aliasSyntax reads a Part 10 stream's meta header and, when its transfer
// syntax is in parserAliases, returns a stream with the alias in its place
// and the real UID; otherwise the stream unchanged and "".
func aliasSyntax(r io.Reader) (io.Reader, string, error) {
	head := make([]byte, 144)
	n, err := io.ReadFull(r, head)
	head = head[:n]
	if err != nil || string(head[128:132]) != "DICM" ||
		!bytes.Equal(head[132:138], []byte{0x02, 0, 0, 0, 'U', 'L'}) {
		return io.MultiReader(bytes.NewReader(head), r), "", nil
	}
	glen := binary.LittleEndian.Uint32(head[140:])
	if glen > maxMetaLength {
		return io.MultiReader(bytes.NewReader(head), r), "", nil
	}
	meta := make([]byte, glen)
	n, err = io.ReadFull(r, meta)
	meta = meta[:n]
	rest := io.MultiReader(bytes.NewReader(head), bytes.NewReader(meta), r)
	if err != nil {
		return rest, "", nil
	}
	i := bytes.Index(meta, []byte{0x02, 0, 0x10, 0, 'U', 'I'})
	if i < 0 || i+8 > len(meta) {
		return rest, "", nil
	}
	l := int(binary.LittleEndian.Uint16(meta[i+6:]))
	if i+8+l > len(meta) {
		return rest, "", nil
	}
	val := meta[i+8 : i+8+l]
	ts := strings.TrimRight(string(val), "\x00 ")
	alias, ok := parserAliases[ts]
	if !ok || len(alias) > l {
		return rest, "", nil
	}
	copy(val, alias)
	for j := len(alias); j < l; j++ {
		val[j] = 0
	}
	return io.MultiReader(bytes.NewReader(head), bytes.NewReader(meta), r), ts, nil
}

// Parse parses a Part 10 stream of size bytes like dicom.Parse, also in
// transfer syntaxes the library does not know (HTJ2K, see parserAliases),
// and turns a parser panic on malformed input into an error.
func Parse(r io.Reader, size int64, opts ...dicom.ParseOption) (ds dicom.Dataset, err error) {
	defer func() {
		if p := recover(); p != nil {
			ds, err = dicom.Dataset{}, fmt.Errorf("malformed file: %v", p)
		}
	}()
	r, real, err := aliasSyntax(r)
	if err != nil {
		return dicom.Dataset{}, err
	}
	ds, err = dicom.Parse(r, size, nil, opts...)
	if err != nil || real == "" {
		return ds, err
	}
	if e, ferr := ds.FindElementByTag(tag.TransferSyntaxUID); ferr == nil {
		if v, verr := dicom.NewValue([]string{real}); verr == nil {
			e.Value = v
		}
	}
	return ds, nil
}

// ParseFile parses the Part 10 file at path with Parse.
func ParseFile(path string, opts ...dicom.ParseOption) (dicom.Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return dicom.Dataset{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return dicom.Dataset{}, err
	}
	return Parse(f, st.Size(), opts...)
}
