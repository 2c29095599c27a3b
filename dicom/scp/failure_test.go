package scp_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/dicom/dimse"
	"github.com/radraft/radraft/dicom/scp"
	"github.com/radraft/radraft/dicom/scp/scptest"
	"github.com/radraft/radraft/dicom/ul"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/ingest"
)

// failingIndex fails IndexInstance while fail is set.
type failingIndex struct {
	*drafts.Store
	fail atomic.Bool
}

func (f *failingIndex) IndexInstance(ctx context.Context, r *ingest.ReceivedInstance) error {
	if f.fail.Load() {
		return errors.New("simulated database failure")
	}
	return f.Store.IndexInstance(ctx, r)
}

// A database failure gives A700 (never 0000), and the association stays
// usable: the same instance stored again once the database is back.
func TestIndexFailureA700(t *testing.T) {
	store := newStore(t)
	fi := &failingIndex{Store: store}
	ts := startServerWith(t, store, fi, nil)
	rc := associate(t, ts, "FAILTEST", nil)
	defer rc.Close()
	ds := scDataset(dicom.SecondaryCapture, cpSOPInst)
	fi.fail.Store(true)
	if st, err := rc.store(3, dicom.SecondaryCapture, cpSOPInst, ds); err != nil || st != 0xA700 {
		t.Fatalf("store with the database failing: status %04X, %v", st, err)
	}
	if n := countRows(t, store, `SELECT count(*) FROM instances`); n != 0 {
		t.Fatalf("%d instances indexed", n)
	}
	fi.fail.Store(false)
	if st, err := rc.echo(); err != nil || st != 0 {
		t.Fatalf("echo after failure: %04X %v", st, err)
	}
	if st, err := rc.store(3, dicom.SecondaryCapture, cpSOPInst, ds); err != nil || st != 0 {
		t.Fatalf("store again: status %04X, %v", st, err)
	}
	if n := countRows(t, store, `SELECT count(*) FROM instances`); n != 1 {
		t.Fatalf("%d instances indexed, want 1", n)
	}
	if err := rc.release(); err != nil {
		t.Fatal(err)
	}
}

// A disk failure (the temporary directory gone, a directory blocked by a
// file) gives A700, and the association stays usable.
func TestStorageFailureA700(t *testing.T) {
	ts := startServer(t, nil)
	rc := associate(t, ts, "FAILTEST", nil)
	defer rc.Close()
	ds := scDataset(dicom.SecondaryCapture, cpSOPInst)
	tmp := filepath.Join(ts.dir, ".tmp")
	if err := os.RemoveAll(tmp); err != nil {
		t.Fatal(err)
	}
	if st, err := rc.store(3, dicom.SecondaryCapture, cpSOPInst, ds); err != nil || st != 0xA700 {
		t.Fatalf("store without a temporary directory: status %04X, %v", st, err)
	}
	if err := os.Mkdir(tmp, 0o750); err != nil {
		t.Fatal(err)
	}
	// The study directory's name taken by a file: the rename cannot happen.
	if err := os.WriteFile(filepath.Join(ts.dir, cpStudy), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := rc.store(3, dicom.SecondaryCapture, cpSOPInst, ds); err != nil || st != 0xA700 {
		t.Fatalf("store with the study directory blocked: status %04X, %v", st, err)
	}
	if n := countRows(t, ts.store, `SELECT count(*) FROM instances`); n != 0 {
		t.Fatalf("%d instances indexed", n)
	}
	os.Remove(filepath.Join(ts.dir, cpStudy))
	if st, err := rc.store(3, dicom.SecondaryCapture, cpSOPInst, ds); err != nil || st != 0 {
		t.Fatalf("store after repair: status %04X, %v", st, err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("%d files left in .tmp", len(ents))
	}
}

// An association with nothing to say is aborted after the idle timeout.
func TestIdleTimeout(t *testing.T) {
	ts := startServer(t, func(c *scp.Config) { c.IdleTimeout = 300 * time.Millisecond })
	rc := associate(t, ts, "IDLER", nil)
	defer rc.Close()
	start := time.Now()
	_, err := rc.c.NextPDV()
	if !errors.Is(err, ulErrPeerAborted) {
		t.Fatalf("idle association: %v, want an A-ABORT", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Errorf("aborted after %v", d)
	}
}

// Shutdown lets a C-STORE in flight finish and be answered, then aborts the
// association and returns.
func TestShutdownFinishesInFlight(t *testing.T) {
	store := newStore(t)
	ts := startServerWith(t, store, store, nil)
	rc := associate(t, ts, "DRAINTEST", nil)
	defer rc.Close()
	ds := scDataset(dicom.SecondaryCapture, cpSOPInst)
	cmd := (&dimse.Command{Field: dimse.CStoreRQ, MessageID: 1, AffectedSOPClass: dicom.SecondaryCapture, AffectedSOPInst: cpSOPInst}).Encode()
	if err := rc.c.WriteFragments(3, true, cmd); err != nil {
		t.Fatal(err)
	}
	if err := rc.c.WritePDU(ul.EncodePDataTF(3, 0, ds[:20])); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the server is inside the message
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- ts.srv.Shutdown(ctx)
	}()
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned while a C-STORE was in flight: %v", err)
	default:
	}
	// New associations are refused now.
	if nc, err := net.DialTimeout("tcp", ts.addr.String(), time.Second); err == nil {
		nc.Close()
		t.Errorf("still accepting connections while draining")
	}
	if err := rc.c.WritePDU(ul.EncodePDataTF(3, ul.PDVLast, ds[20:])); err != nil {
		t.Fatal(err)
	}
	rsp, err := rc.readResponse()
	if err != nil || rsp.Status != 0 {
		t.Fatalf("in-flight C-STORE: %v %v", rsp, err)
	}
	if _, err := rc.c.NextPDV(); !errors.Is(err, ul.ErrPeerAborted) {
		t.Errorf("after the answer: %v, want A-ABORT", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if n := countRows(t, store, `SELECT count(*) FROM instances`); n != 1 {
		t.Errorf("%d instances indexed, want 1", n)
	}
}

// The A-ASSOCIATE-AC answers every context: accepted, abstract syntax not
// supported (3: SOP class not in the allowlist), transfer syntax not
// supported (4); the transfer syntax chosen is the first of ours the
// proposer offers, whatever its order.
func TestContextResults(t *testing.T) {
	ts := startServer(t, func(c *scp.Config) { c.SOPClasses = []string{dicom.CRImageStorage} })
	rc := associate(t, ts, "PCTEST", []ul.PresentationContext{
		{ID: 1, AbstractSyntax: dicom.VerificationSOPClass, TransferSyntaxes: []string{dicom.ImplicitVRLittleEndian}},
		{ID: 3, AbstractSyntax: dicom.SecondaryCapture, TransferSyntaxes: []string{dicom.ExplicitVRLittleEndian}},
		{ID: 5, AbstractSyntax: dicom.CRImageStorage, TransferSyntaxes: []string{"1.2.840.10008.1.2.4.100", dicom.ExplicitVRBigEndian}},
		{ID: 7, AbstractSyntax: dicom.CRImageStorage, TransferSyntaxes: []string{"1.2.840.10008.1.2.4.100"}},
		// our preference, not the proposer's order, picks the syntax
		{ID: 9, AbstractSyntax: dicom.CRImageStorage, TransferSyntaxes: []string{dicom.JPEGBaseline, dicom.ImplicitVRLittleEndian, dicom.JPEGLossless, dicom.ExplicitVRLittleEndian}},
		{ID: 11, AbstractSyntax: dicom.CRImageStorage, TransferSyntaxes: []string{dicom.JPEGBaseline, dicom.JPEGLossless}},
		{ID: 13, AbstractSyntax: dicom.CRImageStorage, TransferSyntaxes: []string{dicom.JPEGExtended}},
		{ID: 15, AbstractSyntax: dicom.CRImageStorage, TransferSyntaxes: []string{dicom.JPEGLosslessP14}},
	})
	defer rc.Close()
	want := map[byte]byte{1: ul.ResultAcceptance, 3: ul.ResultAbstractSyntaxNotSupported, 5: ul.ResultAcceptance, 7: ul.ResultTransferSyntaxNotSupported,
		9: ul.ResultAcceptance, 11: ul.ResultAcceptance, 13: ul.ResultAcceptance, 15: ul.ResultAcceptance}
	wantTS := map[byte]string{5: dicom.ExplicitVRBigEndian, 9: dicom.ExplicitVRLittleEndian, 11: dicom.JPEGLossless,
		13: dicom.JPEGExtended, 15: dicom.JPEGLosslessP14}
	if len(rc.ac.Contexts) != len(want) {
		t.Fatalf("AC answers %d contexts, want %d", len(rc.ac.Contexts), len(want))
	}
	for _, pc := range rc.ac.Contexts {
		if pc.Result != want[pc.ID] {
			t.Errorf("context %d: result %d, want %d", pc.ID, pc.Result, want[pc.ID])
		}
		if ts, ok := wantTS[pc.ID]; ok && pc.TransferSyntax != ts {
			t.Errorf("context %d accepted with %s, want %s", pc.ID, pc.TransferSyntax, ts)
		}
	}
	if rc.ac.ImplClassUID != dicom.ImplementationClassUID || rc.ac.MaxLength == 0 {
		t.Errorf("AC user information: %q max %d", rc.ac.ImplClassUID, rc.ac.MaxLength)
	}
	if err := rc.release(); err != nil {
		t.Fatal(err)
	}
}

// Each PDU must arrive whole within the read timeout of its own: a slow
// sender whose PDUs each arrive in time is never cut off, however long the
// whole transfer takes.
func TestSlowSenderKeepsGoing(t *testing.T) {
	ts := startServer(t, func(c *scp.Config) { c.ReadTimeout = 300 * time.Millisecond })
	rc := associate(t, ts, "SLOW", nil)
	defer rc.Close()
	ds := scDataset(dicom.SecondaryCapture, cpSOPInst)
	cmd := (&dimse.Command{Field: dimse.CStoreRQ, MessageID: 1, AffectedSOPClass: dicom.SecondaryCapture, AffectedSOPInst: cpSOPInst}).Encode()
	if err := rc.c.WriteFragments(3, true, cmd); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	const parts = 6
	step := (len(ds) + parts - 1) / parts
	for i := 0; i < len(ds); i += step {
		time.Sleep(150 * time.Millisecond)
		end := min(i+step, len(ds))
		ctrl := byte(0)
		if end == len(ds) {
			ctrl = ul.PDVLast
		}
		if err := rc.c.WritePDU(ul.EncodePDataTF(3, ctrl, ds[i:end])); err != nil {
			t.Fatal(err)
		}
	}
	rsp, err := rc.readResponse()
	if err != nil || rsp.Status != 0 {
		t.Fatalf("slow store after %v: %v %v", time.Since(start), rsp, err)
	}
	if time.Since(start) < 600*time.Millisecond {
		t.Fatalf("the transfer took only %v; the test proves nothing", time.Since(start))
	}
}

// A connection that never sends its A-ASSOCIATE-RQ does not hold up a
// shutdown for the whole ARTIM.
func TestShutdownDoesNotWaitForSilentConnections(t *testing.T) {
	ts := startServer(t, func(c *scp.Config) { c.ARTIM = 20 * time.Second })
	nc := dial(t, ts)
	defer nc.Close()
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %v", d)
	}
}

// A PDU trickled one byte at a time is cut off when its own deadline
// passes, however steadily the bytes come: the read timeout bounds the
// whole PDU, not each read.
func TestTricklePDUIsCutOff(t *testing.T) {
	ts := startServer(t, func(c *scp.Config) { c.ReadTimeout = 500 * time.Millisecond })
	rc := associate(t, ts, "TRICKLE", nil)
	defer rc.Close()
	pdu := scptest.EchoRQ(1)
	start := time.Now()
	type answer struct {
		err error
		at  time.Duration
	}
	done := make(chan answer, 1)
	go func() { _, err := rc.readResponse(); done <- answer{err, time.Since(start)} }()
	var got answer
send:
	for _, b := range pdu {
		rc.nc.Write([]byte{b}) //nolint:errcheck
		select {
		case got = <-done:
			break send
		case <-time.After(100 * time.Millisecond):
		}
	}
	if got.err == nil && got.at == 0 {
		got = <-done
	}
	if !errors.Is(got.err, ul.ErrPeerAborted) {
		t.Fatalf("a trickled PDU: %v, want an A-ABORT", got.err)
	}
	if got.at > 2*time.Second {
		t.Fatalf("cut off after %v", got.at)
	}
}

// The A-ASSOCIATE-RQ must be in whole within ARTIM of the connection
// opening: a trickle does not re-arm it.
func TestTrickleRQWithinARTIM(t *testing.T) {
	ts := startServer(t, func(c *scp.Config) { c.ARTIM = 500 * time.Millisecond })
	nc := dial(t, ts)
	defer nc.Close()
	start := time.Now()
	rq := scptest.RQ("TRICKLE")
	for _, b := range rq {
		if _, err := nc.Write([]byte{b}); err != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
		if time.Since(start) > 5*time.Second {
			t.Fatal("the connection outlived ARTIM tenfold")
		}
	}
	if got := scptest.ReadAnswers(nc); len(got) != 0 {
		t.Fatalf("answers %v, want a silent close", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("closed after %v", d)
	}
}

// Sockets that never associate are counted apart from associations: with
// the pending cap full of silent connections (ARTIM far away), a real
// sender still gets in, the oldest silent one making room.
func TestPendingSocketsCannotLockOut(t *testing.T) {
	ts := startServer(t, func(c *scp.Config) {
		c.ARTIM = 30 * time.Second
		c.MaxPending = 4
		c.MaxAssociations = 1
	})
	var silent []net.Conn
	for i := 0; i < 8; i++ {
		nc := dial(t, ts)
		defer nc.Close()
		silent = append(silent, nc)
	}
	time.Sleep(200 * time.Millisecond)
	mustEcho(t, ts)
	// the oldest silent sockets were dropped, the newest are still held
	silent[0].SetReadDeadline(time.Now().Add(2 * time.Second)) //nolint:errcheck
	if _, err := silent[0].Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("the oldest silent socket is still open: %v", err)
	}
	silent[7].SetReadDeadline(time.Now().Add(300 * time.Millisecond)) //nolint:errcheck
	if _, err := silent[7].Read(make([]byte, 1)); !isTimeout(err) {
		t.Errorf("the newest silent socket was dropped: %v", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
