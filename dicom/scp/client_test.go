package scp_test

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/dicom/dimse"
	"github.com/radraft/radraft/dicom/scp/scptest"
	"github.com/radraft/radraft/dicom/ul"
)

// rawClient is a minimal SCU over our own upper layer, able to send
// well-formed and deliberately broken PDUs.
type rawClient struct {
	t     testing.TB
	nc    net.Conn
	c     *ul.Conn
	ac    *ul.AssociateAC
	msgID uint16
}

func defaultContexts() []ul.PresentationContext { return scptest.Contexts() }

func dial(t testing.TB, ts *testServer) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", ts.addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(60 * time.Second)) //nolint:errcheck
	return nc
}

func associate(t testing.TB, ts *testServer, callingAE string, pcs []ul.PresentationContext) *rawClient {
	t.Helper()
	if pcs == nil {
		pcs = defaultContexts()
	}
	nc := dial(t, ts)
	c, ac, err := ul.Request(nc, &ul.AssociateRQ{
		ProtocolVersion: 1, CalledAE: "RADRAFT", CallingAE: callingAE,
		ApplicationContext: dicom.ApplicationContextName, Contexts: pcs,
		UserInfo: ul.UserInfo{MaxLength: 16384, ImplClassUID: "1.2.3.4", ImplVersionName: "TEST"},
	})
	if err != nil {
		nc.Close()
		t.Fatalf("associate: %v", err)
	}
	return &rawClient{t: t, nc: nc, c: c, ac: ac}
}

func (rc *rawClient) Close() { rc.nc.Close() }

// readResponse reads one command set; an abort or close comes back as err.
func (rc *rawClient) readResponse() (*dimse.Command, error) {
	var buf []byte
	for {
		pdv, err := rc.c.NextPDV()
		if err != nil {
			return nil, err
		}
		b := make([]byte, pdv.Length)
		if _, err := io.ReadFull(rc.c, b); err != nil {
			return nil, err
		}
		buf = append(buf, b...)
		if pdv.Last() {
			break
		}
	}
	return dimse.Decode(buf)
}

func (rc *rawClient) echo() (uint16, error) {
	rc.msgID++
	cmd := &dimse.Command{Field: dimse.CEchoRQ, MessageID: rc.msgID, AffectedSOPClass: dicom.VerificationSOPClass, DataSetType: dimse.NoDataSet}
	if err := rc.c.WriteFragments(1, true, cmd.Encode()); err != nil {
		return 0, err
	}
	rsp, err := rc.readResponse()
	if err != nil {
		return 0, err
	}
	return rsp.Status, nil
}

// store sends a C-STORE with dataset ds on context ctxID.
func (rc *rawClient) store(ctxID byte, sopClass, sopInst string, ds []byte) (uint16, error) {
	rc.msgID++
	cmd := &dimse.Command{Field: dimse.CStoreRQ, MessageID: rc.msgID, AffectedSOPClass: sopClass, AffectedSOPInst: sopInst, DataSetType: 0}
	if err := rc.c.WriteFragments(ctxID, true, cmd.Encode()); err != nil {
		return 0, err
	}
	if err := rc.c.WriteFragments(ctxID, false, ds); err != nil {
		return 0, err
	}
	rsp, err := rc.readResponse()
	if err != nil {
		return 0, err
	}
	return rsp.Status, nil
}

func (rc *rawClient) release() error {
	if err := rc.c.WritePDU(ul.EncodeRelease(ul.TypeReleaseRQ)); err != nil {
		return err
	}
	_, err := rc.c.NextPDV()
	if errors.Is(err, ul.ErrReleaseRP) {
		return nil
	}
	return err
}

var ulErrPeerAborted = ul.ErrPeerAborted
