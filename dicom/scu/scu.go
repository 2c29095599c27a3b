// Package scu is radraft's DICOM requestor: it sends one object to a remote
// Storage SCP by C-STORE over radraft's own upper layer (dicom/ul), one
// association per object (requested, used, released). It owns destination
// parsing (AET@host:port) and the meaning of the answer (success, warning,
// a refusal that retrying will not fix, a transient failure).
package scu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/dicom/dimse"
	"github.com/radraft/radraft/dicom/ul"
)

// Destination is a remote Storage SCP.
type Destination struct {
	AETitle string
	Host    string
	Port    int
}

// String is the destination as configured: AET@host:port.
func (d Destination) String() string {
	return d.AETitle + "@" + net.JoinHostPort(d.Host, strconv.Itoa(d.Port))
}

// ParseDestinations parses a comma-separated list of AET@host:port; empty
// means none.
func ParseDestinations(s string) ([]Destination, error) {
	var out []Destination
	seen := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		at := strings.LastIndex(p, "@")
		if at <= 0 {
			return nil, fmt.Errorf("destination %q: want AET@host:port", p)
		}
		aet := p[:at]
		if err := dicom.CheckAETitle(aet); err != nil {
			return nil, fmt.Errorf("destination %q: %w", p, err)
		}
		host, port, err := net.SplitHostPort(p[at+1:])
		if err != nil || host == "" {
			return nil, fmt.Errorf("destination %q: want AET@host:port", p)
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("destination %q: port must be 1-65535", p)
		}
		d := Destination{AETitle: aet, Host: host, Port: n}
		if seen[d.String()] {
			return nil, fmt.Errorf("destination %q listed twice", p)
		}
		seen[d.String()] = true
		out = append(out, d)
	}
	return out, nil
}

// StatusError is a C-STORE answered with a failure status.
type StatusError struct {
	Status  uint16
	Comment string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("scu: C-STORE status %04X %s", e.Status, e.Comment)
}

// Permanent reports whether a retry cannot help: every failure but "out of
// resources" (A7xx), which a full disk or a busy peer clears with time.
func (e *StatusError) Permanent() bool { return e.Status&0xFF00 != 0xA700 }

// ErrNotAccepted is returned when the peer accepts the association but not
// the presentation context (SOP class or transfer syntax): permanent.
var ErrNotAccepted = errors.New("scu: the destination does not accept this SOP class in Explicit VR Little Endian")

// Permanent reports whether err says that retrying the same object to the
// same destination cannot succeed (a refusal, as opposed to an outage).
func Permanent(err error) bool {
	var se *StatusError
	var rj *ul.RejectError
	switch {
	case errors.As(err, &se):
		return se.Permanent()
	case errors.Is(err, ErrNotAccepted):
		return true
	case errors.As(err, &rj):
		return rj.Result == ul.RejectPermanent
	}
	return false
}

// Client sends objects as CallingAE.
type Client struct {
	CallingAE string
	// Timeout bounds a whole exchange (connect to release); default 60 s.
	Timeout time.Duration
}

// Store sends dataset (Explicit VR Little Endian, no file meta) of
// sopClass/sopInst to d. A nil error means stored: status 0000, or a
// warning (Bxxx) that is returned. A failure status comes back as a
// *StatusError.
func (c *Client) Store(ctx context.Context, d Destination, sopClass, sopInst string, dataset []byte) (uint16, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var dialer net.Dialer
	nc, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(d.Host, strconv.Itoa(d.Port)))
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl) //nolint:errcheck
	}
	const ctxID = 1
	conn, ac, err := ul.Request(nc, &ul.AssociateRQ{
		ProtocolVersion: 1, CalledAE: d.AETitle, CallingAE: c.CallingAE,
		ApplicationContext: dicom.ApplicationContextName,
		Contexts:           []ul.PresentationContext{{ID: ctxID, AbstractSyntax: sopClass, TransferSyntaxes: []string{dicom.ExplicitVRLittleEndian}}},
		UserInfo:           ul.UserInfo{MaxLength: 1 << 20, ImplClassUID: dicom.ImplementationClassUID, ImplVersionName: dicom.ImplementationVersionName},
	})
	if err != nil {
		return 0, err
	}
	accepted := false
	for _, pc := range ac.Contexts {
		accepted = accepted || pc.ID == ctxID && pc.Result == ul.ResultAcceptance
	}
	if !accepted {
		release(conn)
		return 0, ErrNotAccepted
	}
	cmd := &dimse.Command{Field: dimse.CStoreRQ, MessageID: 1, AffectedSOPClass: sopClass, AffectedSOPInst: sopInst, DataSetType: 0}
	if err := conn.WriteFragments(ctxID, true, cmd.Encode()); err != nil {
		return 0, err
	}
	if err := conn.WriteFragments(ctxID, false, dataset); err != nil {
		return 0, err
	}
	rsp, err := readCommand(conn)
	if err != nil {
		return 0, err
	}
	release(conn)
	switch {
	case rsp.Field != dimse.CStoreRSP || rsp.RespondedTo != 1:
		return 0, fmt.Errorf("scu: unexpected answer (command %04X)", rsp.Field)
	case rsp.Status == dimse.StatusSuccess:
		return 0, nil
	case rsp.Status&0xF000 == 0xB000:
		return rsp.Status, nil
	}
	return rsp.Status, &StatusError{Status: rsp.Status, Comment: rsp.ErrorComment}
}

// readCommand reads one command set from the peer.
func readCommand(conn *ul.Conn) (*dimse.Command, error) {
	var buf []byte
	for {
		pdv, err := conn.NextPDV()
		if err != nil {
			return nil, err
		}
		if !pdv.Command() || len(buf)+pdv.Length > dimse.MaxCommandSize {
			return nil, fmt.Errorf("scu: unexpected dataset or oversized command from the peer")
		}
		n := len(buf)
		buf = append(buf, make([]byte, pdv.Length)...)
		if _, err := io.ReadFull(conn, buf[n:]); err != nil {
			return nil, err
		}
		if pdv.Last() {
			return dimse.Decode(buf)
		}
	}
}

// release asks for an orderly release and waits briefly for the answer;
// the object's fate is already decided, so errors are ignored.
func release(conn *ul.Conn) {
	if conn.WritePDU(ul.EncodeRelease(ul.TypeReleaseRQ)) != nil {
		return
	}
	conn.NetConn().SetReadDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
	conn.NextPDV()                                                  //nolint:errcheck // A-RELEASE-RP or anything: we close
}
