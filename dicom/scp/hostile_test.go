package scp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/dicom/scp/scptest"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/internal/testserve"
)

// The committed hostile corpus (testdata/malformed: the malformed cases and
// issue 10's attacks, each a .bin with its expected answer in cases.json)
// against the real radraft binary: every case gets its answer and a real
// echoscu succeeds right after it. Then 80 connections trickle their
// A-ASSOCIATE-RQ one byte at a time, and echoscu must still succeed while
// they are open and after ARTIM. The process's peak RSS stays bounded
// although three requests declared ~4 GB each.
func TestHostileCorpusRealBinary(t *testing.T) {
	var m manifest
	b, err := os.ReadFile(filepath.Join(corpusDir(), "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	dbURL := draftstest.NewDatabase(t)
	port := freePort(t)
	addr := "127.0.0.1:" + port
	storage := t.TempDir()
	p := testserve.Start(t, nil, addr, "--role=api", "--database-url="+dbURL, "--storage-dir="+storage,
		"--dicom-addr="+addr, "--ae-title=RADRAFT", "--mllp-addr=", "--http-addr="+testserve.FreeAddr(t),
		"--dicom-artim=1s", "--dicom-read-timeout=1s", "--dicom-idle-timeout=5s", "--max-pdu-length=65536")
	echo := func(when string) {
		t.Helper()
		if out, err := run(t, "echoscu", "-to", "10", "-aec", "RADRAFT", "127.0.0.1", port); err != nil {
			t.Fatalf("echoscu %s: %v\n%s\n%s", when, err, out, p.Log())
		}
	}
	for _, c := range m.Cases {
		data, err := os.ReadFile(filepath.Join(corpusDir(), c.Name+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := scptest.Exchange(addr, data, c.Hold, 20*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if g, w := strings.Join(scptest.Statuses(got), " "), strings.Join(c.Expect, " "); g != w {
			t.Errorf("%s (%s): got %s, want %s", c.Name, c.Why, g, w)
		}
		echo("after " + c.Name)
	}
	checkOnlyAcknowledgedKept(t, dbURL, storage, m.Cases)
	stop, err := scptest.Trickle(addr, 80, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	time.Sleep(500 * time.Millisecond)
	echo("with 80 trickling connections open")
	time.Sleep(1500 * time.Millisecond)
	echo("with the trickle past ARTIM")
	stop()
	const bound = 400 << 20
	if hwm := vmHWM(t, p.Cmd.Process.Pid); hwm > bound {
		t.Errorf("peak RSS %d MiB, over %d MiB", hwm>>20, bound>>20)
	} else {
		t.Logf("peak RSS %d MiB", hwm>>20)
	}
}

// vmHWM is a process's peak resident set size in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb) //nolint:errcheck
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// storingCases are the corpus cases that store an instance (one each);
// every other case must leave nothing behind.
var storingCases = map[string]bool{"valid-store": true, "issue10-latin1-name": true, "issue10-nul-name": true,
	"issue10-series-other-study": true}

// checkOnlyAcknowledgedKept: the instances indexed and the files in the
// storage tree are exactly those of the storing cases (refused, truncated
// and unparseable datasets left nothing behind, .tmp included).
func checkOnlyAcknowledgedKept(t *testing.T, dbURL, storage string, cases []corpusCase) {
	t.Helper()
	stored := 0
	for _, c := range cases {
		if storingCases[c.Name] {
			stored++
		}
	}
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var indexed int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM instances`).Scan(&indexed); err != nil {
		t.Fatal(err)
	}
	files := 0
	filepath.WalkDir(storage, func(path string, d fs.DirEntry, err error) error { //nolint:errcheck
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if indexed != stored || files != stored {
		t.Errorf("%d C-STOREs acknowledged, %d instances indexed, %d files in the storage tree", stored, indexed, files)
	}
}
