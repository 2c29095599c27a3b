// Package ul is radraft's DICOM upper layer (PS3.8): the PDUs and their
// encoding (pdu.go), association negotiation with our transfer-syntax
// preference (negotiate.go), the protocol machine of PS3.8 Table 9-10 and
// the acceptor that runs it with ARTIM and whole-PDU deadlines (fsm.go),
// and the transport: buffered PDU reading with caps, PDV fragmentation
// both ways (conn.go). Every PDU radraft reads or writes goes through here.
//
// It is written by hand because no maintained Go library streams PDV
// fragments: a PDV's data is handed to the caller as an io.Reader read
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

// PresentationContext is one presentation context proposed in an
// A-ASSOCIATE-RQ.
type PresentationContext struct {
	ID               byte
	AbstractSyntax   string
	TransferSyntaxes []string // in the proposer's order
}

// ContextResult is the answer to one presentation context in an
// A-ASSOCIATE-AC.
type ContextResult struct {
	ID             byte
	Result         byte   // ResultAcceptance, ResultAbstractSyntaxNotSupported…
	TransferSyntax string // the one chosen; not significant unless accepted
}

// RoleSelection is an SCP/SCU role selection sub-item.
type RoleSelection struct {
	SOPClass string
	SCU, SCP bool
}

// UserInfo is the user information item of both A-ASSOCIATE PDUs.
type UserInfo struct {
	MaxLength       uint32 // 0 = no limit
	ImplClassUID    string
	ImplVersionName string
	Roles           []RoleSelection
}

// AssociateRQ is an A-ASSOCIATE-RQ.
type AssociateRQ struct {
	ProtocolVersion    uint16
	CalledAE           string
	CallingAE          string
	ApplicationContext string
	Contexts           []PresentationContext
	UserInfo
}

// AssociateAC is an A-ASSOCIATE-AC: the fixed fields echo the RQ's.
type AssociateAC struct {
	ProtocolVersion    uint16
	CalledAE           string
	CallingAE          string
	ApplicationContext string
	Contexts           []ContextResult
	UserInfo
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

// trimAE is an AE title as received, trimmed; bytes outside the default
// repertoire's printable range (AE titles may hold nothing else) become
// '?', so a hostile title can be logged and stored as it is.
func trimAE(b []byte) string {
	clean := make([]byte, 0, len(b))
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			if c == 0 {
				continue
			}
			c = '?'
		}
		clean = append(clean, c)
	}
	return strings.TrimSpace(string(clean))
}

// associateFixed is what both A-ASSOCIATE PDUs carry besides their contexts.
type associateFixed struct {
	version                                 uint16
	calledAE, callingAE, applicationContext string
	UserInfo
}

// decodeAssociate decodes the body of an A-ASSOCIATE PDU of type typ,
// handing each presentation context item (of the type that PDU must hold)
// to onContext.
func decodeAssociate(typ byte, body []byte, onContext func(v []byte) error) (associateFixed, error) {
	c := &cursor{b: body}
	var a associateFixed
	a.version = c.u16()
	c.u16()
	a.calledAE = trimAE(c.bytes(16))
	a.callingAE = trimAE(c.bytes(16))
	c.bytes(32)
	want := byte(itemPresContextRQ)
	if typ == TypeAssociateAC {
		want = itemPresContextAC
	}
	contexts := 0
	for len(c.b) > 0 && c.err == nil {
		t, v := c.item()
		if c.err != nil {
			break
		}
		switch t {
		case itemApplicationContext:
			a.applicationContext = trimUID(v)
		case itemPresContextRQ, itemPresContextAC:
			if t != want {
				return a, protoErr(AbortUnexpectedParam, "presentation context item %#x in PDU type %#x", t, typ)
			}
			if contexts++; contexts > maxContexts {
				return a, protoErr(AbortInvalidParam, "more than %d presentation contexts", maxContexts)
			}
			if err := onContext(v); err != nil {
				return a, err
			}
		case itemUserInfo:
			if err := a.UserInfo.decode(v); err != nil {
				return a, err
			}
		default:
			// Unknown items are ignored (PS3.8 9.3.1).
		}
	}
	return a, c.err
}

// DecodeAssociateRQ decodes the body (after the 6-byte header) of an
// A-ASSOCIATE-RQ.
func DecodeAssociateRQ(body []byte) (*AssociateRQ, error) {
	rq := &AssociateRQ{}
	seen := map[byte]bool{}
	f, err := decodeAssociate(TypeAssociateRQ, body, func(v []byte) error {
		id, _, subs, err := decodeContextItem(v)
		if err != nil {
			return err
		}
		if seen[id] {
			return protoErr(AbortInvalidParam, "presentation context ID %d proposed twice", id)
		}
		seen[id] = true
		pc := PresentationContext{ID: id}
		for _, s := range subs {
			switch s.typ {
			case itemAbstractSyntax:
				pc.AbstractSyntax = s.uid
			case itemTransferSyntax:
				pc.TransferSyntaxes = append(pc.TransferSyntaxes, s.uid)
			}
		}
		if pc.AbstractSyntax == "" || len(pc.TransferSyntaxes) == 0 {
			return protoErr(AbortInvalidParam, "presentation context %d lacks abstract or transfer syntax", pc.ID)
		}
		rq.Contexts = append(rq.Contexts, pc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rq.ProtocolVersion, rq.CalledAE, rq.CallingAE, rq.ApplicationContext, rq.UserInfo = f.version, f.calledAE, f.callingAE, f.applicationContext, f.UserInfo
	return rq, nil
}

// DecodeAssociateAC decodes the body (after the 6-byte header) of an
// A-ASSOCIATE-AC.
func DecodeAssociateAC(body []byte) (*AssociateAC, error) {
	ac := &AssociateAC{}
	f, err := decodeAssociate(TypeAssociateAC, body, func(v []byte) error {
		id, result, subs, err := decodeContextItem(v)
		if err != nil {
			return err
		}
		r := ContextResult{ID: id, Result: result}
		n := 0
		for _, s := range subs {
			switch s.typ {
			case itemTransferSyntax:
				r.TransferSyntax = s.uid
				n++
			default:
				return protoErr(AbortUnexpectedParam, "sub-item %#x in an A-ASSOCIATE-AC presentation context", s.typ)
			}
		}
		// Exactly one transfer syntax, significant only when accepted (PS3.8 9.3.3.2).
		if n > 1 || result == ResultAcceptance && n != 1 {
			return protoErr(AbortInvalidParam, "presentation context %d answered with %d transfer syntaxes", id, n)
		}
		ac.Contexts = append(ac.Contexts, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	ac.ProtocolVersion, ac.CalledAE, ac.CallingAE, ac.ApplicationContext, ac.UserInfo = f.version, f.calledAE, f.callingAE, f.applicationContext, f.UserInfo
	return ac, nil
}

type subItem struct {
	typ byte
	uid string
}

// decodeContextItem splits a presentation context item: ID (odd), result
// (AC only) and its abstract/transfer syntax sub-items.
func decodeContextItem(v []byte) (id, result byte, subs []subItem, err error) {
	c := &cursor{b: v}
	id = c.u8()
	c.u8()
	result = c.u8()
	c.u8()
	for len(c.b) > 0 && c.err == nil {
		st, sv := c.item()
		if c.err != nil {
			break
		}
		if st != itemAbstractSyntax && st != itemTransferSyntax {
			return id, result, nil, protoErr(AbortUnrecognizedParam, "unknown sub-item %#x in presentation context", st)
		}
		if len(subs) > maxTSPerContext {
			return id, result, nil, protoErr(AbortInvalidParam, "too many transfer syntaxes in context %d", id)
		}
		subs = append(subs, subItem{st, trimUID(sv)})
	}
	if c.err != nil {
		return id, result, nil, c.err
	}
	if id%2 == 0 {
		return id, result, nil, protoErr(AbortInvalidParam, "presentation context ID %d is even", id)
	}
	return id, result, subs, nil
}

func (u *UserInfo) decode(v []byte) error {
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
			u.MaxLength = binary.BigEndian.Uint32(sv)
		case subImplClassUID:
			u.ImplClassUID = trimUID(sv)
		case subImplVersionName:
			u.ImplVersionName = strings.TrimSpace(string(sv))
		case subRoleSelection:
			sc := &cursor{b: sv}
			n := sc.u16()
			uid := trimUID(sc.bytes(int(n)))
			scu, scp := sc.u8(), sc.u8()
			if sc.err != nil {
				return sc.err
			}
			u.Roles = append(u.Roles, RoleSelection{SOPClass: uid, SCU: scu == 1, SCP: scp == 1})
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

// encodeAssociate encodes an A-ASSOCIATE PDU of type typ around its
// already encoded presentation context items.
func encodeAssociate(typ byte, f associateFixed, contexts []byte) []byte {
	b := make([]byte, 6, 512+len(contexts))
	b = append(b, byte(f.version>>8), byte(f.version), 0, 0)
	b = append(b, padAE(f.calledAE)...)
	b = append(b, padAE(f.callingAE)...)
	b = append(b, make([]byte, 32)...)
	b = appendItem(b, itemApplicationContext, []byte(f.applicationContext))
	b = append(b, contexts...)
	var ui []byte
	var ml [4]byte
	binary.BigEndian.PutUint32(ml[:], f.MaxLength)
	ui = appendItem(ui, subMaxLength, ml[:])
	if f.ImplClassUID != "" {
		ui = appendItem(ui, subImplClassUID, []byte(f.ImplClassUID))
	}
	if f.ImplVersionName != "" {
		ui = appendItem(ui, subImplVersionName, []byte(f.ImplVersionName))
	}
	b = appendItem(b, itemUserInfo, ui)
	putHeader(b, typ, len(b)-6)
	return b
}

// Encode encodes rq as a full PDU.
func (rq *AssociateRQ) Encode() []byte {
	var items []byte
	for _, pc := range rq.Contexts {
		v := []byte{pc.ID, 0, 0, 0}
		v = appendItem(v, itemAbstractSyntax, []byte(pc.AbstractSyntax))
		for _, ts := range pc.TransferSyntaxes {
			v = appendItem(v, itemTransferSyntax, []byte(ts))
		}
		items = appendItem(items, itemPresContextRQ, v)
	}
	return encodeAssociate(TypeAssociateRQ, associateFixed{rq.ProtocolVersion, rq.CalledAE, rq.CallingAE, rq.ApplicationContext, rq.UserInfo}, items)
}

// Encode encodes ac as a full PDU.
func (ac *AssociateAC) Encode() []byte {
	var items []byte
	for _, pc := range ac.Contexts {
		v := []byte{pc.ID, 0, pc.Result, 0}
		v = appendItem(v, itemTransferSyntax, []byte(pc.TransferSyntax))
		items = appendItem(items, itemPresContextAC, v)
	}
	return encodeAssociate(TypeAssociateAC, associateFixed{ac.ProtocolVersion, ac.CalledAE, ac.CallingAE, ac.ApplicationContext, ac.UserInfo}, items)
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
