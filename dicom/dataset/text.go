package dataset

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// charsets maps the Defined Terms of Specific Character Set (0008,0005),
// PS3.3 C.12.1.1.2, to decoders. Code extension (ISO 2022 …) terms map to
// their base character set; the escape sequences they switch with are left
// to the fallback.
var charsets = map[string]encoding.Encoding{
	"ISO_IR 100": charmap.ISO8859_1, "ISO 2022 IR 100": charmap.ISO8859_1,
	"ISO_IR 101": charmap.ISO8859_2, "ISO 2022 IR 101": charmap.ISO8859_2,
	"ISO_IR 109": charmap.ISO8859_3, "ISO 2022 IR 109": charmap.ISO8859_3,
	"ISO_IR 110": charmap.ISO8859_4, "ISO 2022 IR 110": charmap.ISO8859_4,
	"ISO_IR 144": charmap.ISO8859_5, "ISO 2022 IR 144": charmap.ISO8859_5,
	"ISO_IR 127": charmap.ISO8859_6, "ISO 2022 IR 127": charmap.ISO8859_6,
	"ISO_IR 126": charmap.ISO8859_7, "ISO 2022 IR 126": charmap.ISO8859_7,
	"ISO_IR 138": charmap.ISO8859_8, "ISO 2022 IR 138": charmap.ISO8859_8,
	"ISO_IR 148": charmap.ISO8859_9, "ISO 2022 IR 148": charmap.ISO8859_9,
	"ISO_IR 203": charmap.ISO8859_15, "ISO 2022 IR 203": charmap.ISO8859_15,
	"ISO_IR 166": charmap.Windows874, "ISO 2022 IR 166": charmap.Windows874,
	"ISO_IR 13": japanese.ShiftJIS, "ISO 2022 IR 13": japanese.ShiftJIS,
	"ISO 2022 IR 87": japanese.ISO2022JP, "ISO 2022 IR 159": japanese.ISO2022JP,
	"ISO 2022 IR 149": korean.EUCKR,
	"ISO 2022 IR 58":  simplifiedchinese.GBK,
	"GB18030":         simplifiedchinese.GB18030, "GBK": simplifiedchinese.GBK,
}

// decodeText turns a text value into clean UTF-8: decoded by the declared
// character set (the last one named, which governs the value's extended
// characters), or, when none is declared or the bytes are not valid in
// it, as UTF-8 if they are valid UTF-8, else as Latin-1, the most common
// undeclared repertoire of Western senders. NUL and other control
// characters (but tab, CR, LF) are removed; padding is trimmed.
func decodeText(raw []byte, declared []string, _ Tag) string {
	s := ""
	decoded := false
	if n := len(declared); n > 0 && declared[n-1] != "ISO_IR 192" {
		if enc, ok := charsets[declared[n-1]]; ok {
			if out, err := enc.NewDecoder().Bytes(raw); err == nil && utf8.Valid(out) {
				s, decoded = string(out), true
			}
		}
	}
	if !decoded {
		if utf8.Valid(raw) {
			s = string(raw)
		} else {
			out, _ := charmap.ISO8859_1.NewDecoder().Bytes(raw)
			s = string(out)
		}
	}
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7F || r == utf8.RuneError {
			return -1
		}
		return r
	}, s))
}
