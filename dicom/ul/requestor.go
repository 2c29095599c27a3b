package ul

import (
	"fmt"
	"net"
)

// Request negotiates an association as the requestor over nc: it sends rq
// and returns the Conn with the peer's A-ASSOCIATE-AC. Radraft's own SCP
// never initiates associations; tests and tools do.
func Request(nc net.Conn, rq *AssociateRQ) (*Conn, *AssociateRQ, error) {
	c := NewConn(nc, 64<<10)
	if err := c.WritePDU(rq.Encode(TypeAssociateRQ)); err != nil {
		return nil, nil, err
	}
	typ, ac, err := c.ReadAssociate()
	if err != nil {
		return c, nil, err
	}
	if typ != TypeAssociateAC {
		return c, nil, fmt.Errorf("ul: expected A-ASSOCIATE-AC, got PDU type %#x", typ)
	}
	c.PeerMaxPDU = ac.MaxLength
	return c, ac, nil
}
