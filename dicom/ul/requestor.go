package ul

import (
	"fmt"
	"io"
	"net"
)

// Request negotiates an association as the requestor over nc: it sends rq
// and returns the Conn with the peer's A-ASSOCIATE-AC (or a *RejectError).
// Radraft's own SCP never initiates associations; tests and tools do.
func Request(nc net.Conn, rq *AssociateRQ) (*Conn, *AssociateAC, error) {
	c := NewConn(nc, 64<<10)
	if err := c.WritePDU(rq.Encode()); err != nil {
		return nil, nil, err
	}
	h, err := ReadHeader(c.br)
	if err != nil {
		return c, nil, err
	}
	ev, pe := pduEvent(h, MaxNegotiationPDU)
	if pe != nil {
		return c, nil, pe
	}
	switch ev {
	case Evt3:
		body := make([]byte, h.Length)
		if _, err := io.ReadFull(c.br, body); err != nil {
			return c, nil, err
		}
		ac, err := DecodeAssociateAC(body)
		if err != nil {
			return c, nil, err
		}
		c.PeerMaxPDU = ac.MaxLength
		return c, ac, nil
	case Evt4:
		var b [4]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return c, nil, err
		}
		return c, nil, &RejectError{Result: b[1], Source: b[2], Reason: b[3]}
	case Evt16:
		return c, nil, ErrPeerAborted
	default:
		return c, nil, fmt.Errorf("ul: expected A-ASSOCIATE-AC, got PDU type %#x", h.Type)
	}
}
