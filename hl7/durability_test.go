package hl7_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/hl7"
	"github.com/radraft/radraft/internal/testserve"
)

// startServe runs `radraft serve --role=api` on dbURL with the MLLP listener
// on mllpAddr and waits until it accepts connections.
func startServe(t *testing.T, dbURL, mllpAddr string) *testserve.Proc {
	t.Helper()
	return testserve.Start(t, []string{
		"RADRAFT_DATABASE_URL=" + dbURL,
		"RADRAFT_ROLE=api",
		"RADRAFT_MLLP_ADDR=" + mllpAddr,
		"RADRAFT_DICOM_ADDR=" + testserve.FreeAddr(t),
		"RADRAFT_HTTP_ADDR=" + testserve.FreeAddr(t),
		"RADRAFT_STORAGE_DIR=" + t.TempDir(),
	}, mllpAddr)
}

// TestKill9LosesNothingAcknowledged runs the real binary, streams orders to
// it over several connections, kills it with SIGKILL mid-stream, restarts it
// on the same database and checks that every control ID that got an AA is
// stored (message and order), and that the restarted server serves again.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dbURL := draftstest.NewDatabase(t)
	addr := testserve.FreeAddr(t)
	p := startServe(t, dbURL, addr)

	const senders = 4
	var acked sync.Map // control ID -> accession
	var nAcked, nFailed atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < senders; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cl := &hl7.Client{Addr: addr, Timeout: 5 * time.Second}
			defer cl.Close()
			for j := 0; ; j++ {
				ctrl := fmt.Sprintf("K%d-%05d", i, j)
				acc := "ACC-" + ctrl
				ack, err := cl.Send(context.Background(), order(ctrl, acc))
				if err != nil {
					nFailed.Add(1)
					return // the server is gone
				}
				if ack.Code == hl7.AA {
					acked.Store(ctrl, acc)
					nAcked.Add(1)
				}
			}
		}(i)
	}
	// Let traffic flow, then kill -9 while messages are in flight.
	for nAcked.Load() < 200 {
		time.Sleep(5 * time.Millisecond)
	}
	p.Kill()
	wg.Wait()
	t.Logf("acknowledged before kill: %d; senders cut off: %d", nAcked.Load(), nFailed.Load())

	p2 := startServe(t, dbURL, addr)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	stored := map[string]bool{}
	rows, err := conn.Query(ctx, `SELECT m.message_control_id FROM hl7_messages m JOIN orders o ON o.last_message_id = m.id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id) //nolint:errcheck
		stored[id] = true
	}
	rows.Close()
	missing := 0
	acked.Range(func(k, _ any) bool {
		if !stored[k.(string)] {
			missing++
			t.Errorf("control ID %s was acknowledged but is not stored", k)
		}
		return missing < 20
	})
	if len(stored) < int(nAcked.Load()) {
		t.Errorf("%d stored < %d acknowledged", len(stored), nAcked.Load())
	}
	// The restarted server accepts the unacknowledged ones when re-sent.
	cl := &hl7.Client{Addr: addr}
	defer cl.Close()
	if ack, err := cl.Send(ctx, order("AFTER-RESTART", "ACC-AFTER")); err != nil || ack.Code != hl7.AA {
		t.Fatalf("after restart: %+v %v\n%s", ack, err, p2.Log())
	}
	// Stop it gracefully (SIGTERM) and check it exits cleanly.
	p2.Cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
	select {
	case <-p2.Done:
		if p2.Err != nil {
			t.Errorf("graceful stop: %v\n%s", p2.Err, p2.Log())
		}
	case <-time.After(40 * time.Second):
		t.Errorf("radraft serve did not stop on SIGTERM")
	}
}

func TestMain(m *testing.M) { testserve.Main(m) }
