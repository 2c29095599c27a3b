package scp_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/dicom/scp/scptest"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/ingest"
)

// An A-ASSOCIATE-AC sent first, its presentation context holding no
// transfer syntax, once panicked the negotiation and took the process down.
// Over a real TCP connection: the peer is aborted (unexpected PDU) and the
// listener still answers C-ECHO.
func TestAssociateACFirstIsAborted(t *testing.T) {
	ts := startServer(t, nil)
	got, err := scptest.Exchange(ts.addr.String(), scptest.ACFirst(), false, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "ABORT:2/2" {
		t.Fatalf("answer %v, want an A-ABORT (provider, unexpected PDU)", got)
	}
	mustEcho(t, ts)
	if n := ts.srv.Panics(); n != 0 {
		t.Fatalf("%d panics", n)
	}
}

// panickingIndex panics on lookup, as a bug anywhere in a handler would.
type panickingIndex struct{ *drafts.Store }

func (panickingIndex) LookupInstance(context.Context, string) (*ingest.StoredInstance, error) {
	panic("bug in a handler")
}

// A panic in one association's handler aborts that association only; it is
// counted in radraft_dicom_association_panics_total and the listener goes
// on answering.
func TestHandlerPanicAbortsOnlyItsAssociation(t *testing.T) {
	store := newStore(t)
	ts := startServerWith(t, store, panickingIndex{store}, nil)
	other := associate(t, ts, "BYSTANDER", nil)
	defer other.Close()
	sop := scptest.NewUID(60)
	d := scptest.Dataset{SOPClass: dicom.SecondaryCapture, SOPInstance: sop, Study: scptest.NewUID(60), Series: scptest.NewUID(60)}
	got, err := scptest.Exchange(ts.addr.String(), scptest.Cat(scptest.RQ("PANIC"),
		scptest.StoreRQ(3, 1, dicom.SecondaryCapture, sop, d.Bytes())), true, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "AC ABORT:2/0" {
		t.Fatalf("answer %v, want AC then A-ABORT", got)
	}
	if st, err := other.echo(); err != nil || st != 0 {
		t.Fatalf("the other association: echo %04X %v", st, err)
	}
	mustEcho(t, ts)
	reg := prometheus.NewRegistry()
	reg.MustRegister(ts.srv.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "radraft_dicom_association_panics_total" {
			found = true
			if v := mf.GetMetric()[0].GetCounter().GetValue(); v != 1 {
				t.Fatalf("panics counter %v, want 1", v)
			}
		}
	}
	if !found {
		t.Fatal("no radraft_dicom_association_panics_total metric")
	}
}
