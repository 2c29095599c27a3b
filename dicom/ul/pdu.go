// Package ul is radraft's DICOM upper layer (PS3.8): PDU encoding and
// decoding, association negotiation (A-ASSOCIATE-RQ/AC/RJ), the acceptor
// state machine with its ARTIM timer, release and abort, and P-DATA-TF with
// PDV fragmentation in both directions.
//
// It is written by hand because no maintained Go library streams PDV
// fragments: Conn hands each PDV's data to the caller as an io.Reader read
// straight from the socket, so a dataset of any size goes to disk without
// ever being held in memory. Every length read from the wire is checked
// against a cap before anything is allocated.
package ul

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// PDU types (PS3.8 9.3).
const (
	TypeAssociateRQ = 0x01
	TypeAssociateAC = 0x02
	TypeAssociateRJ = 0x03
	TypePDataTF     = 0x04
	TypeReleaseRQ   = 0x05
	TypeReleaseRP   = 0x06
	TypeAbort       = 0x07
)

// Item types inside A-ASSOCIATE PDUs.
const (
	itemApplicationContext = 0x10
	itemPresContextRQ      = 0x20
	itemPresContextAC      = 0x21
	itemAbstractSyntax     = 0x30
	itemTransferSyntax     = 0x40
	itemUserInfo           = 0x50
	subMaxLength           = 0x51
	subImplClassUID        = 0x52
	subAsyncOps            = 0x53
	subRoleSelection       = 0x54
	subImplVersionName     = 0x55
)

// Presentation context results in A-ASSOCIATE-AC.
const (
	ResultAcceptance                 = 0
	ResultUserRejection              = 1
	ResultNoReason                   = 2
	ResultAbstractSyntaxNotSupported = 3
	ResultTransferSyntaxNotSupported = 4
)

// A-ASSOCIATE-RJ results, sources and reasons.
const (
	RejectPermanent = 1
	RejectTransient = 2

	SourceServiceUser          = 1 // reasons: 1 none, 2 app context, 3 calling AE, 7 called AE
	SourceProviderACSE         = 2 // reasons: 1 none, 2 protocol version
	SourceProviderPresentation = 3 // reasons: 1 temporary congestion, 2 local limit exceeded

	ReasonNoReason               = 1
	ReasonAppContextNotSupported = 2
	ReasonCallingAENotRecognized = 3
	ReasonCalledAENotRecognized  = 7
	ReasonProtocolVersion        = 2
	ReasonLocalLimitExceeded     = 2
)

// A-ABORT sources and reasons (PS3.8 9.3.8).
const (
	AbortSourceUser     = 0
	AbortSourceProvider = 2

	AbortNotSpecified      = 0
	AbortUnrecognizedPDU   = 1
	AbortUnexpectedPDU     = 2
	AbortUnrecognizedParam = 4
	AbortUnexpectedParam   = 5
	AbortInvalidParam      = 6
)

// ProtocolError is a violation of PS3.8 by the peer; the association is
// aborted with Reason.
type ProtocolError struct {
	Reason byte
	Msg    string
}

func (e *ProtocolError) Error() string { return "ul: protocol violation: " + e.Msg }

func protoErr(reason byte, format string, args ...any) error {
	return &ProtocolError{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// ErrPDUTooLarge is returned (wrapped in a ProtocolError) for a PDU longer
// than the cap.
var ErrPDUTooLarge = errors.New("PDU longer than accepted")

// Header is the 6-byte PDU header.
type Header struct {
	Type   byte
	Length uint32
}

// ReadHeader reads a PDU header.
func ReadHeader(r io.Reader) (Header, error) {
	var b [6]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return Header{}, err
	}
	return Header{Type: b[0], Length: binary.BigEndian.Uint32(b[2:])}, nil
}

func putHeader(b []byte, typ byte, length int) {
	b[0] = typ
	b[1] = 0
	binary.BigEndian.PutUint32(b[2:6], uint32(length))
}

// PresentationContext is one proposed presentation context (RQ) or one
// answer (AC).
type PresentationContext struct {
	ID               byte
	AbstractSyntax   string   // RQ only
	TransferSyntaxes []string // RQ: proposed, in the peer's order; AC: the one chosen
	Result           byte     // AC only
}

// RoleSelection is an SCP/SCU role selection sub-item.
type RoleSelection struct {
	SOPClass string
	SCU, SCP bool
}

// AssociateRQ is a decoded A-ASSOCIATE-RQ (or, with Contexts' Result set,
// an A-ASSOCIATE-AC).
type AssociateRQ struct {
	ProtocolVersion    uint16
	CalledAE           string
	CallingAE          string
	ApplicationContext string
	Contexts           []PresentationContext
	MaxLength          uint32 // 0 = no limit
	ImplClassUID       string
	ImplVersionName    string
	Roles              []RoleSelection
}

// Limits on what a negotiation PDU may contain.
const (
	MaxNegotiationPDU = 256 << 10
	maxContexts       = 128
	maxTSPerContext   = 64
)

type cursor struct {
	b   []byte
	err error
}

func (c *cursor) need(n int) bool {
	if c.err != nil {
		return false
	}
	if len(c.b) < n {
		c.err = protoErr(AbortInvalidParam, "item overruns its PDU")
		return false
	}
	return true
}

func (c *cursor) u8() byte {
	if !c.need(1) {
		return 0
	}
	v := c.b[0]
	c.b = c.b[1:]
	return v
}

func (c *cursor) u16() uint16 {
	if !c.need(2) {
		return 0
	}
	v := binary.BigEndian.Uint16(c.b)
	c.b = c.b[2:]
	return v
}

func (c *cursor) u32() uint32 {
	if !c.need(4) {
		return 0
	}
	v := binary.BigEndian.Uint32(c.b)
	c.b = c.b[4:]
	return v
}

func (c *cursor) bytes(n int) []byte {
	if !c.need(n) {
		return nil
	}
	v := c.b[:n]
	c.b = c.b[n:]
	return v
}

// item reads a (type, reserved, 2-byte length) item.
func (c *cursor) item() (byte, []byte) {
	t := c.u8()
	c.u8()
	n := c.u16()
	return t, c.bytes(int(n))
}

func trimUID(b []byte) string {
	return strings.TrimRight(string(b), "\x00 ")
}

func trimAE(b []byte) string { return strings.TrimSpace(strings.TrimRight(string(b), "\x00")) }

// DecodeAssociate decodes the body (after the 6-byte header) of an
// A-ASSOCIATE-RQ or -AC.
func DecodeAssociate(typ byte, body []byte) (*AssociateRQ, error) {
	c := &cursor{b: body}
	a := &AssociateRQ{}
	a.ProtocolVersion = c.u16()
	c.u16()
	a.CalledAE = trimAE(c.bytes(16))
	a.CallingAE = trimAE(c.bytes(16))
	c.bytes(32)
	if c.err != nil {
		return nil, c.err
	}
	seen := map[byte]bool{}
	for len(c.b) > 0 && c.err == nil {
		t, v := c.item()
		if c.err != nil {
			break
		}
		switch t {
		case itemApplicationContext:
			a.ApplicationContext = trimUID(v)
		case itemPresContextRQ, itemPresContextAC:
			if (typ == TypeAssociateRQ) != (t == itemPresContextRQ) {
				return nil, protoErr(AbortUnexpectedParam, "presentation context item %#x in PDU type %#x", t, typ)
			}
			if len(a.Contexts) >= maxContexts {
				return nil, protoErr(AbortInvalidParam, "more than %d presentation contexts", maxContexts)
			}
			pc, err := decodeContext(t, v)
			if err != nil {
				return nil, err
			}
			if typ == TypeAssociateRQ && seen[pc.ID] {
				return nil, protoErr(AbortInvalidParam, "presentation context ID %d proposed twice", pc.ID)
			}
			seen[pc.ID] = true
			a.Contexts = append(a.Contexts, pc)
		case itemUserInfo:
			if err := a.decodeUserInfo(v); err != nil {
				return nil, err
			}
		default:
			// Unknown items are ignored (PS3.8 9.3.1).
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	return a, nil
}

func decodeContext(t byte, v []byte) (PresentationContext, error) {
	c := &cursor{b: v}
	pc := PresentationContext{ID: c.u8()}
	c.u8()
	pc.Result = c.u8()
	c.u8()
	if t == itemPresContextRQ {
		pc.Result = 0
	}
	for len(c.b) > 0 && c.err == nil {
		st, sv := c.item()
		if c.err != nil {
			break
		}
		switch st {
		case itemAbstractSyntax:
			pc.AbstractSyntax = trimUID(sv)
		case itemTransferSyntax:
			if len(pc.TransferSyntaxes) >= maxTSPerContext {
				return pc, protoErr(AbortInvalidParam, "too many transfer syntaxes in context %d", pc.ID)
			}
			pc.TransferSyntaxes = append(pc.TransferSyntaxes, trimUID(sv))
		default:
			return pc, protoErr(AbortUnrecognizedParam, "unknown sub-item %#x in presentation context", st)
		}
	}
	if c.err != nil {
		return pc, c.err
	}
	if pc.ID%2 == 0 {
		return pc, protoErr(AbortInvalidParam, "presentation context ID %d is even", pc.ID)
	}
	if t == itemPresContextRQ && (pc.AbstractSyntax == "" || len(pc.TransferSyntaxes) == 0) {
		return pc, protoErr(AbortInvalidParam, "presentation context %d lacks abstract or transfer syntax", pc.ID)
	}
	// An AC context answers with exactly one transfer syntax (PS3.8 9.3.3.2),
	// which is significant only when the context is accepted.
	if t == itemPresContextAC && (len(pc.TransferSyntaxes) > 1 || pc.Result == ResultAcceptance && len(pc.TransferSyntaxes) != 1) {
		return pc, protoErr(AbortInvalidParam, "accepted presentation context %d with %d transfer syntaxes", pc.ID, len(pc.TransferSyntaxes))
	}
	return pc, nil
}

func (a *AssociateRQ) decodeUserInfo(v []byte) error {
	c := &cursor{b: v}
	for len(c.b) > 0 && c.err == nil {
		t, sv := c.item()
		if c.err != nil {
			break
		}
		switch t {
		case subMaxLength:
			if len(sv) != 4 {
				return protoErr(AbortInvalidParam, "maximum length sub-item of %d bytes", len(sv))
			}
			a.MaxLength = binary.BigEndian.Uint32(sv)
		case subImplClassUID:
			a.ImplClassUID = trimUID(sv)
		case subImplVersionName:
			a.ImplVersionName = strings.TrimSpace(string(sv))
		case subRoleSelection:
			sc := &cursor{b: sv}
			n := sc.u16()
			uid := trimUID(sc.bytes(int(n)))
			scu, scp := sc.u8(), sc.u8()
			if sc.err != nil {
				return sc.err
			}
			a.Roles = append(a.Roles, RoleSelection{SOPClass: uid, SCU: scu == 1, SCP: scp == 1})
		default:
			// async operations window, extended negotiation, user identity:
			// not used; the defaults (one operation at a time) apply.
		}
	}
	return c.err
}

func appendItem(b []byte, t byte, v []byte) []byte {
	b = append(b, t, 0, byte(len(v)>>8), byte(len(v)))
	return append(b, v...)
}

func padAE(s string) []byte {
	b := []byte("                ")
	copy(b, s)
	return b
}

// Encode encodes a as a full PDU of type typ (TypeAssociateRQ or -AC).
func (a *AssociateRQ) Encode(typ byte) []byte {
	b := make([]byte, 6, 512)
	b = append(b, byte(a.ProtocolVersion>>8), byte(a.ProtocolVersion), 0, 0)
	b = append(b, padAE(a.CalledAE)...)
	b = append(b, padAE(a.CallingAE)...)
	b = append(b, make([]byte, 32)...)
	b = appendItem(b, itemApplicationContext, []byte(a.ApplicationContext))
	for _, pc := range a.Contexts {
		var v []byte
		if typ == TypeAssociateRQ {
			v = []byte{pc.ID, 0, 0, 0}
			v = appendItem(v, itemAbstractSyntax, []byte(pc.AbstractSyntax))
			for _, ts := range pc.TransferSyntaxes {
				v = appendItem(v, itemTransferSyntax, []byte(ts))
			}
			b = appendItem(b, itemPresContextRQ, v)
		} else {
			v = []byte{pc.ID, 0, pc.Result, 0}
			ts := ""
			if len(pc.TransferSyntaxes) > 0 {
				ts = pc.TransferSyntaxes[0]
			}
			v = appendItem(v, itemTransferSyntax, []byte(ts))
			b = appendItem(b, itemPresContextAC, v)
		}
	}
	var ui []byte
	var ml [4]byte
	binary.BigEndian.PutUint32(ml[:], a.MaxLength)
	ui = appendItem(ui, subMaxLength, ml[:])
	if a.ImplClassUID != "" {
		ui = appendItem(ui, subImplClassUID, []byte(a.ImplClassUID))
	}
	if a.ImplVersionName != "" {
		ui = appendItem(ui, subImplVersionName, []byte(a.ImplVersionName))
	}
	b = appendItem(b, itemUserInfo, ui)
	putHeader(b, typ, len(b)-6)
	return b
}

// EncodeReject encodes an A-ASSOCIATE-RJ PDU.
func EncodeReject(result, source, reason byte) []byte {
	b := make([]byte, 10)
	putHeader(b, TypeAssociateRJ, 4)
	b[7], b[8], b[9] = result, source, reason
	return b
}

// EncodeAbort encodes an A-ABORT PDU.
func EncodeAbort(source, reason byte) []byte {
	b := make([]byte, 10)
	putHeader(b, TypeAbort, 4)
	b[8], b[9] = source, reason
	return b
}

// EncodeRelease encodes an A-RELEASE-RQ or -RP PDU.
func EncodeRelease(typ byte) []byte {
	b := make([]byte, 10)
	putHeader(b, typ, 4)
	return b
}

// PDV control header bits.
const (
	PDVCommand = 0x01
	PDVLast    = 0x02
)

// EncodePDataTF builds a P-DATA-TF PDU holding one PDV.
func EncodePDataTF(ctxID, control byte, data []byte) []byte {
	b := make([]byte, 12+len(data))
	putHeader(b, TypePDataTF, 6+len(data))
	binary.BigEndian.PutUint32(b[6:], uint32(2+len(data)))
	b[10], b[11] = ctxID, control
	copy(b[12:], data)
	return b
}
