package main

import (
	"context"
	"net"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/internal/testserve"
)

// startedParts lists the parts a serve log says started, in order.
func startedParts(log string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`msg=started part=(\S+)`).FindAllStringSubmatch(log, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestServeStartsInOrderAndStopsOnSIGTERM runs the real binary with every
// part of an api node enabled: the parts start in the documented order
// (docs/ARCHITECTURE.md, "Start order and lifecycle"), and SIGTERM stops
// them all within the grace, exit status 0, no error logged. A part that
// cannot start (its address taken) ends the start with its name, after
// stopping the parts already started.
func TestServeStartsInOrderAndStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dbURL := draftstest.NewDatabase(t)
	tmp := t.TempDir()
	httpAddr := testserve.FreeAddr(t)
	env := func(dicomAddr string) []string {
		return []string{"RADRAFT_DATABASE_URL=" + dbURL, "RADRAFT_STORAGE_DIR=" + filepath.Join(tmp, "dicom"),
			"RADRAFT_DICOM_ADDR=" + dicomAddr, "RADRAFT_MLLP_ADDR=" + testserve.FreeAddr(t), "RADRAFT_HTTP_ADDR=" + httpAddr,
			// nothing listens there: the outbox loops only wait for work
			"RADRAFT_RIS_ADDR=" + testserve.FreeAddr(t), "RADRAFT_SR_DESTINATIONS=PACS@" + testserve.FreeAddr(t),
			"RADRAFT_ROLE=api", "RADRAFT_NODE_ID=lifecycle-test"}
	}
	p := testserve.Start(t, env(testserve.FreeAddr(t)), httpAddr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p.WaitReady(ctx, t, httpAddr)
	want := []string{"jobs", "dicom", "hl7", "settle", "sr", "results", "http"}
	if got := startedParts(p.Log()); !reflect.DeepEqual(got, want) {
		t.Fatalf("parts started %q, want %q\n%s", got, want, p.Log())
	}
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done:
	case <-time.After(shutdownGrace + 10*time.Second):
		t.Fatalf("still running after SIGTERM\n%s", p.Log())
	}
	if p.Err != nil || strings.Contains(p.Log(), "level=ERROR") {
		t.Fatalf("stop: exit %v\n%s", p.Err, p.Log())
	}

	// The DICOM address taken: the start fails naming dicom, after jobs
	// started (and were stopped), before anything after dicom.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	p2 := testserve.Start(t, env(taken.Addr().String()), taken.Addr().String())
	select {
	case <-p2.Done:
	case <-time.After(time.Minute):
		t.Fatalf("serve kept running with its DICOM address taken\n%s", p2.Log())
	}
	if p2.Err == nil || !strings.Contains(p2.Log(), "radraft serve: dicom: listen tcp") {
		t.Fatalf("exit %v, want a dicom listen error\n%s", p2.Err, p2.Log())
	}
	if got := startedParts(p2.Log()); !reflect.DeepEqual(got, []string{"jobs"}) {
		t.Fatalf("parts started %q before the failure, want only jobs\n%s", got, p2.Log())
	}
}
