package scptest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/dicom/dimse"
	"github.com/radraft/radraft/dicom/ul"
)

// Byte-level builders for what a (possibly hostile) DICOM client sends.
// They write PDUs and datasets by hand so that tests and tools can break
// any field; the malformed corpus of dicom/scp and bench/dicomhostile both
// use them.

// ElEx encodes one Explicit VR Little Endian element; the length written is
// len(v) (use ElExLen to declare another).
func ElEx(g, e uint16, vr string, v []byte) []byte { return ElExLen(g, e, vr, uint32(len(v)), v) }

// ElExLen encodes an Explicit VR Little Endian element declaring length n
// but carrying v.
func ElExLen(g, e uint16, vr string, n uint32, v []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, g)
	b = binary.LittleEndian.AppendUint16(b, e)
	b = append(b, vr...)
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV":
		b = append(b, 0, 0)
		b = binary.LittleEndian.AppendUint32(b, n)
	default:
		b = binary.LittleEndian.AppendUint16(b, uint16(n))
	}
	return append(b, v...)
}

// UI pads a UID to even length with NUL.
func UI(s string) []byte {
	if len(s)%2 == 1 {
		return append([]byte(s), 0)
	}
	return []byte(s)
}

// Text pads a text value to even length with a space.
func Text(s string) []byte {
	if len(s)%2 == 1 {
		return append([]byte(s), ' ')
	}
	return []byte(s)
}

// US encodes one unsigned short.
func US(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }

// Dataset describes a tiny image dataset in Explicit VR Little Endian.
type Dataset struct {
	SOPClass, SOPInstance, Study, Series string
	PatientName                          []byte // raw bytes; nil = "TEST^CORPUS"
	Modality                             string // "" = OT
	// Extra elements, inserted (already encoded, in tag order) between
	// Patient Name (0010,0010) and Study Instance UID (0020,000D).
	Extra [][]byte
}

// Bytes encodes d.
func (d Dataset) Bytes() []byte {
	name := d.PatientName
	if name == nil {
		name = []byte("TEST^CORPUS ")
	}
	mod := d.Modality
	if mod == "" {
		mod = "OT"
	}
	var b []byte
	b = append(b, ElEx(0x0008, 0x0016, "UI", UI(d.SOPClass))...)
	b = append(b, ElEx(0x0008, 0x0018, "UI", UI(d.SOPInstance))...)
	b = append(b, ElEx(0x0008, 0x0060, "CS", Text(mod))...)
	b = append(b, ElEx(0x0010, 0x0010, "PN", name)...)
	for _, x := range d.Extra {
		b = append(b, x...)
	}
	b = append(b, ElEx(0x0020, 0x000D, "UI", UI(d.Study))...)
	b = append(b, ElEx(0x0020, 0x000E, "UI", UI(d.Series))...)
	b = append(b, ElEx(0x0028, 0x0002, "US", US(1))...)
	b = append(b, ElEx(0x0028, 0x0004, "CS", []byte("MONOCHROME2 "))...)
	b = append(b, ElEx(0x0028, 0x0010, "US", US(1))...)
	b = append(b, ElEx(0x0028, 0x0011, "US", US(2))...)
	b = append(b, ElEx(0x0028, 0x0100, "US", US(8))...)
	b = append(b, ElEx(0x0028, 0x0101, "US", US(8))...)
	b = append(b, ElEx(0x0028, 0x0102, "US", US(7))...)
	b = append(b, ElEx(0x0028, 0x0103, "US", US(0))...)
	b = append(b, ElEx(0x7FE0, 0x0010, "OB", []byte{1, 2})...)
	return b
}

// Contexts are the presentation contexts RQ proposes: 1 Verification
// (Implicit LE), 3 Secondary Capture (Explicit LE), 5 CR (Implicit LE).
func Contexts() []ul.PresentationContext {
	return []ul.PresentationContext{
		{ID: 1, AbstractSyntax: dicom.VerificationSOPClass, TransferSyntaxes: []string{dicom.ImplicitVRLittleEndian}},
		{ID: 3, AbstractSyntax: dicom.SecondaryCapture, TransferSyntaxes: []string{dicom.ExplicitVRLittleEndian}},
		{ID: 5, AbstractSyntax: dicom.CRImageStorage, TransferSyntaxes: []string{dicom.ImplicitVRLittleEndian}},
	}
}

// RQ encodes an A-ASSOCIATE-RQ from callingAE to RADRAFT with Contexts.
func RQ(callingAE string) []byte {
	rq := &ul.AssociateRQ{
		ProtocolVersion: 1, CalledAE: "RADRAFT", CallingAE: callingAE,
		ApplicationContext: dicom.ApplicationContextName, Contexts: Contexts(),
		UserInfo: ul.UserInfo{MaxLength: 16384, ImplClassUID: "1.2.3.4", ImplVersionName: callingAE},
	}
	return rq.Encode()
}

// PData is one P-DATA-TF PDU holding one PDV.
func PData(ctx, ctrl byte, data []byte) []byte { return ul.EncodePDataTF(ctx, ctrl, data) }

// EchoRQ is a C-ECHO-RQ on context 1.
func EchoRQ(id uint16) []byte {
	c := &dimse.Command{Field: dimse.CEchoRQ, MessageID: id, AffectedSOPClass: dicom.VerificationSOPClass, DataSetType: dimse.NoDataSet}
	return PData(1, ul.PDVCommand|ul.PDVLast, c.Encode())
}

// StoreRQ is a C-STORE-RQ on ctx with ds as its dataset, in two fragments.
func StoreRQ(ctx byte, id uint16, sopClass, sopInst string, ds []byte) []byte {
	c := &dimse.Command{Field: dimse.CStoreRQ, MessageID: id, AffectedSOPClass: sopClass, AffectedSOPInst: sopInst}
	b := PData(ctx, ul.PDVCommand|ul.PDVLast, c.Encode())
	h := len(ds) / 2
	b = append(b, PData(ctx, 0, ds[:h])...)
	return append(b, PData(ctx, ul.PDVLast, ds[h:])...)
}

// Cat concatenates byte slices.
func Cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// ReleaseRQ is an A-RELEASE-RQ PDU.
var ReleaseRQ = ul.EncodeRelease(ul.TypeReleaseRQ)

// ReadAnswers reads what the server sends until it closes the connection,
// as words: AC, RJ:result/source/reason, RSP:status (a DIMSE status, with
// its Error Comment after a '|' when there is one: RSP:C000|why), RP,
// ABORT:source/reason. A read error other than EOF/reset ends the list
// with ERR:... .
func ReadAnswers(nc net.Conn) []string {
	got := []string{}
	for {
		var h [6]byte
		if _, err := io.ReadFull(nc, h[:]); err != nil {
			if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "connection reset") {
				got = append(got, "ERR:"+err.Error())
			}
			return got
		}
		n := binary.BigEndian.Uint32(h[2:])
		if n > 1<<20 {
			return append(got, fmt.Sprintf("ERR:PDU of %d bytes", n))
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(nc, body); err != nil {
			return append(got, "ERR:"+err.Error())
		}
		got = append(got, answerWord(h[0], body))
	}
}

func answerWord(typ byte, body []byte) string {
	switch typ {
	case ul.TypeAssociateAC:
		return "AC"
	case ul.TypeAssociateRJ:
		if len(body) < 4 {
			return "RJ:?"
		}
		return fmt.Sprintf("RJ:%d/%d/%d", body[1], body[2], body[3])
	case ul.TypePDataTF:
		if len(body) < 6 {
			return "PDATA:?"
		}
		cmd, err := dimse.Decode(body[6:])
		if err != nil {
			return "RSP:undecodable"
		}
		if cmd.ErrorComment != "" {
			return fmt.Sprintf("RSP:%04X|%s", cmd.Status, cmd.ErrorComment)
		}
		return fmt.Sprintf("RSP:%04X", cmd.Status)
	case ul.TypeReleaseRP:
		return "RP"
	case ul.TypeAbort:
		if len(body) < 4 {
			return "ABORT"
		}
		return fmt.Sprintf("ABORT:%d/%d", body[2], body[3])
	default:
		return fmt.Sprintf("PDU:%#x", typ)
	}
}

// Exchange dials addr, sends b, half-closes unless hold, and returns the
// answers until the server closes (at most within timeout).
func Exchange(addr string, b []byte, hold bool, timeout time.Duration) ([]string, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(timeout)) //nolint:errcheck
	if _, err := nc.Write(b); err != nil {
		return nil, err
	}
	if !hold {
		nc.(*net.TCPConn).CloseWrite() //nolint:errcheck
	}
	return ReadAnswers(nc), nil
}

// Statuses drops the Error Comments from ReadAnswers' words.
func Statuses(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i], _, _ = strings.Cut(w, "|")
	}
	return out
}
