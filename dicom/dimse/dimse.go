// Package dimse encodes and decodes DIMSE command sets (always Implicit VR
// Little Endian, group 0000, PS3.7 9.3 and E) and defines the messages
// radraft serves: C-ECHO and C-STORE requests and responses. Datasets are
// not its business: the SCP streams them.
package dimse

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
)

// Command fields.
const (
	CStoreRQ  = 0x0001
	CStoreRSP = 0x8001
	CEchoRQ   = 0x0030
	CEchoRSP  = 0x8030
	CFindRQ   = 0x0020
	CFindRSP  = 0x8020
)

// NoDataSet is the Command Data Set Type value meaning no dataset follows.
const NoDataSet = 0x0101

// Statuses radraft sends.
const (
	StatusSuccess          = 0x0000
	StatusOutOfResources   = 0xA700 // storage or index failed
	StatusDataSetMismatch  = 0xA900 // dataset SOP class/instance ≠ command
	StatusCannotUnderstand = 0xC000 // dataset not parseable
	// Implementation-defined "cannot understand" failures (PS3.4 B.2.3
	// leaves Cxxx to the SCP): permanent, a resend cannot succeed.
	StatusInvalidUID            = 0xC001 // SOP instance, study or series UID not a valid UID
	StatusSeriesInOtherStudy    = 0xC002 // the series is already stored under another study
	StatusTruncated             = 0xC003 // the dataset ends inside an element
	StatusSOPClassNotSupported  = 0x0122
	StatusUnrecognizedOperation = 0x0211
	StatusMistypedArgument      = 0x0212
)

// Element tags (element numbers of group 0000).
const (
	tagGroupLength      = 0x0000
	tagAffectedSOPClass = 0x0002
	tagCommandField     = 0x0100
	tagMessageID        = 0x0110
	tagRespondedTo      = 0x0120
	tagMoveDestination  = 0x0600
	tagPriority         = 0x0700
	tagDataSetType      = 0x0800
	tagStatus           = 0x0900
	tagErrorComment     = 0x0902
	tagAffectedSOPInst  = 0x1000
	tagMoveOrigAE       = 0x1030
	tagMoveOrigMsgID    = 0x1031
)

// MaxCommandSize caps an encoded command set.
const MaxCommandSize = 64 << 10

// Command is a decoded command set.
type Command struct {
	Field            uint16
	MessageID        uint16
	RespondedTo      uint16
	AffectedSOPClass string
	AffectedSOPInst  string
	Priority         uint16
	DataSetType      uint16
	Status           uint16
	ErrorComment     string
	MoveOriginatorAE string
	MoveOriginatorID uint16
	hasStatus        bool
}

// HasDataSet reports whether a dataset follows the command.
func (c *Command) HasDataSet() bool { return c.DataSetType != NoDataSet }

// Decode decodes an Implicit VR Little Endian command set.
func Decode(b []byte) (*Command, error) {
	if len(b) > MaxCommandSize {
		return nil, fmt.Errorf("dimse: command set of %d bytes", len(b))
	}
	c := &Command{DataSetType: NoDataSet}
	seen := map[uint16]bool{}
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, fmt.Errorf("dimse: truncated element header")
		}
		group := binary.LittleEndian.Uint16(b)
		elem := binary.LittleEndian.Uint16(b[2:])
		n := binary.LittleEndian.Uint32(b[4:])
		b = b[8:]
		if group != 0 {
			return nil, fmt.Errorf("dimse: element (%04X,%04X) outside group 0000", group, elem)
		}
		if uint64(n) > uint64(len(b)) {
			return nil, fmt.Errorf("dimse: element (0000,%04X) length %d overruns the command", elem, n)
		}
		v := b[:n]
		b = b[n:]
		if seen[elem] {
			return nil, fmt.Errorf("dimse: element (0000,%04X) repeated", elem)
		}
		seen[elem] = true
		us := func() (uint16, error) {
			if len(v) != 2 {
				return 0, fmt.Errorf("dimse: element (0000,%04X) of length %d, want 2", elem, len(v))
			}
			return binary.LittleEndian.Uint16(v), nil
		}
		var err error
		switch elem {
		case tagGroupLength:
		case tagAffectedSOPClass:
			c.AffectedSOPClass = trim(v)
		case tagAffectedSOPInst:
			c.AffectedSOPInst = trim(v)
		case tagCommandField:
			c.Field, err = us()
		case tagMessageID:
			c.MessageID, err = us()
		case tagRespondedTo:
			c.RespondedTo, err = us()
		case tagPriority:
			c.Priority, err = us()
		case tagDataSetType:
			c.DataSetType, err = us()
		case tagStatus:
			c.Status, err = us()
			c.hasStatus = true
		case tagErrorComment:
			c.ErrorComment = trim(v)
		case tagMoveOrigAE:
			c.MoveOriginatorAE = trim(v)
		case tagMoveOrigMsgID:
			c.MoveOriginatorID, err = us()
		}
		if err != nil {
			return nil, err
		}
	}
	if !seen[tagCommandField] {
		return nil, fmt.Errorf("dimse: command without Command Field")
	}
	return c, nil
}

func trim(v []byte) string { return strings.TrimRight(string(v), "\x00 ") }

type element struct {
	tag uint16
	v   []byte
}

func str(tag uint16, s string, pad byte) element {
	b := []byte(s)
	if len(b)%2 == 1 {
		b = append(b, pad)
	}
	return element{tag, b}
}

func u16(tag, v uint16) element {
	return element{tag, binary.LittleEndian.AppendUint16(nil, v)}
}

// Encode encodes c as an Implicit VR Little Endian command set, including
// the group length.
func (c *Command) Encode() []byte {
	els := []element{u16(tagCommandField, c.Field), u16(tagDataSetType, c.DataSetType)}
	if c.AffectedSOPClass != "" {
		els = append(els, str(tagAffectedSOPClass, c.AffectedSOPClass, 0))
	}
	if c.AffectedSOPInst != "" {
		els = append(els, str(tagAffectedSOPInst, c.AffectedSOPInst, 0))
	}
	if c.Field&0x8000 == 0 {
		els = append(els, u16(tagMessageID, c.MessageID))
		if c.Field == CStoreRQ {
			els = append(els, u16(tagPriority, c.Priority))
			if c.MoveOriginatorAE != "" {
				els = append(els, str(tagMoveOrigAE, c.MoveOriginatorAE, ' '), u16(tagMoveOrigMsgID, c.MoveOriginatorID))
			}
		}
	} else {
		els = append(els, u16(tagRespondedTo, c.RespondedTo), u16(tagStatus, c.Status))
		if c.ErrorComment != "" {
			els = append(els, str(tagErrorComment, c.ErrorComment, ' '))
		}
	}
	sort.Slice(els, func(i, j int) bool { return els[i].tag < els[j].tag })
	n := 0
	for _, e := range els {
		n += 8 + len(e.v)
	}
	b := make([]byte, 0, 12+n)
	b = appendElem(b, tagGroupLength, binary.LittleEndian.AppendUint32(nil, uint32(n)))
	for _, e := range els {
		b = appendElem(b, e.tag, e.v)
	}
	return b
}

func appendElem(b []byte, tag uint16, v []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint16(b, tag)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

// Response builds the response to request rq with status.
func Response(rq *Command, status uint16, comment string) *Command {
	return &Command{
		Field:            rq.Field | 0x8000,
		RespondedTo:      rq.MessageID,
		AffectedSOPClass: rq.AffectedSOPClass,
		AffectedSOPInst:  rq.AffectedSOPInst,
		DataSetType:      NoDataSet,
		Status:           status,
		ErrorComment:     comment,
	}
}
