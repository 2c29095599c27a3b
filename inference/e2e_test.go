package inference_test

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/radraft/radraft/internal/testpeers"
	"github.com/radraft/radraft/internal/testserve"
)

// End to end with real peers: a real `radraft serve` (demo model), the
// order sent with python-hl7's mllp_send, the testdata CR pushed with
// DCMTK's storescu; the AI draft appears in the database with the order's
// indication and its source, and the study is drafted.
func TestEndToEndDraftWithOrder(t *testing.T) {
	storescu := testpeers.Require(t, "storescu")
	mllpSend := testpeers.Require(t, "mllp_send")
	e := newE2E(t)
	ctx, tmp, dbURL := e.ctx, e.tmp, e.dbURL
	dicomAddr, mllpAddr, httpAddr := testserve.FreeAddr(t), testserve.FreeAddr(t), testserve.FreeAddr(t)
	p := testserve.Start(t, append(e.env, "RADRAFT_DICOM_ADDR="+dicomAddr, "RADRAFT_MLLP_ADDR="+mllpAddr, "RADRAFT_HTTP_ADDR="+httpAddr,
		"RADRAFT_ORDER_WAIT=30s", "RADRAFT_ROLE=all"), httpAddr)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopProc(p)
		}
	}
	defer stop()
	p.WaitReady(ctx, t, httpAddr)

	cr, studyUID := copyCR(t, tmp)

	const indication = "Shortness of breath."
	ts := time.Now().UTC().Format("20060102150405")
	obr := "OBR|1|PLE2E^RIS|FLE2E^RAD|71045^XR CHEST 1 VIEW^CPT4|||" + ts + strings.Repeat("|", 24) + "^" + indication
	msg := strings.Join([]string{
		"MSH|^~\\&|RIS|E2E|RADRAFT|E2E|" + ts + "||ORM^O01|E2E" + ts + "|P|2.3",
		"PID|1||E2E-1^^^E2E^MR||TEST^PATIENT||19600101|M",
		"ORC|NW|PLE2E^RIS|FLE2E^RAD||SC",
		obr,
		"ZDS|" + studyUID + "^RIS^Application^DICOM",
	}, "\n") + "\n"
	orderFile := filepath.Join(tmp, "order.hl7")
	if err := os.WriteFile(orderFile, []byte(msg), 0o644); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(mllpAddr)
	ack, err := exec.CommandContext(ctx, mllpSend, "--loose", "-q", "-p", port, "-f", orderFile, host).CombinedOutput()
	if err != nil || !bytes.Contains(ack, []byte("MSA|AA")) {
		t.Fatalf("mllp_send: %v\n%s", err, ack)
	}
	host, port, _ = net.SplitHostPort(dicomAddr)
	if out, err := exec.CommandContext(ctx, storescu, "-aet", "E2ESCU", "-aec", "RADRAFT", host, port, cr).CombinedOutput(); err != nil {
		t.Fatalf("storescu: %v\n%s", err, out)
	}

	d := waitDraft(ctx, t, dbURL, studyUID, p)
	if d.indication != indication || d.indicationSource != "hl7:OBR-31" || d.findings == "" || d.model != "radraft-demo" || !d.demo || d.state != "drafted" {
		t.Fatalf("draft: indication %q from %q, %d chars of findings, model %q demo %v, study %s", d.indication, d.indicationSource, len(d.findings), d.model, d.demo, d.state)
	}
	// No PHI in the logs: neither the indication nor the draft's text.
	stop()
	for _, phi := range []string{indication, d.findings, "TEST^PATIENT", "E2E-1"} {
		if strings.Contains(p.Log(), phi) {
			t.Errorf("the serve log contains %q", phi)
		}
	}
}

func TestMain(m *testing.M) { testserve.Main(m) }
