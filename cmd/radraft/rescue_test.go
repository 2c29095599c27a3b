package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/internal/testfiles"
	"github.com/radraft/radraft/internal/testpeers"
	"github.com/radraft/radraft/internal/testserve"
)

func TestMain(m *testing.M) { testserve.Main(m) }

// TestKill9MidDraftIsRescuedAtRestart: the real binary drafts the testdata
// CR; while the draft is being stored (held by a table lock this test takes)
// the process is killed with SIGKILL, which leaves its draft_study job
// running. Restarted with the same node ID, radraft takes the job back at
// once (not after River's rescue window) and the study gets its draft.
func TestKill9MidDraftIsRescuedAtRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary with the model")
	}
	storescu := testpeers.Require(t, "storescu")
	lib := os.Getenv("RADRAFT_ORT_LIB")
	if lib == "" {
		t.Fatal("RADRAFT_ORT_LIB is not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	dbURL := draftstest.NewDatabase(t)
	dicomAddr, httpAddr := testserve.FreeAddr(t), testserve.FreeAddr(t)
	root, _ := filepath.Abs("../..")
	env := []string{"RADRAFT_DATABASE_URL=" + dbURL, "RADRAFT_STORAGE_DIR=" + filepath.Join(tmp, "dicom"),
		"RADRAFT_DICOM_ADDR=" + dicomAddr, "RADRAFT_MLLP_ADDR=" + testserve.FreeAddr(t), "RADRAFT_HTTP_ADDR=" + httpAddr,
		"RADRAFT_SETTLE_QUIET=1s", "RADRAFT_ORDER_WAIT=0s", "RADRAFT_MODEL_DIR=" + filepath.Join(root, "models/demo"),
		"RADRAFT_ORT_LIB=" + lib, "RADRAFT_ROLE=all", "RADRAFT_NODE_ID=rescue-test-node"}
	p := testserve.Start(t, env, dicomAddr)

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// Hold the draft at its last step: inserting the report.
	hold, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(context.Background()) //nolint:errcheck
	if _, err := hold.Exec(ctx, `LOCK TABLE reports IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}

	host, port, _ := net.SplitHostPort(dicomAddr)
	if out, err := exec.CommandContext(ctx, storescu, "-aet", "RESCUESCU", "-aec", "RADRAFT", host, port, testfiles.CR(t)).CombinedOutput(); err != nil {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	watch, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close(context.Background())
	until := func(what, sql string) {
		t.Helper()
		for {
			var n int
			if err := watch.QueryRow(ctx, sql).Scan(&n); err == nil && n > 0 {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("%s: never\n%s", what, p.Log())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	until("the draft waits on the lock", `SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'reports'::regclass`)
	p.Kill()
	hold.Rollback(ctx) //nolint:errcheck
	var state string
	var attempt int
	if err := watch.QueryRow(ctx, `SELECT state::text, attempt FROM river_job WHERE kind = 'draft_study'`).Scan(&state, &attempt); err != nil || state != "running" {
		t.Fatalf("after kill -9 the job is %q (%v); want running", state, err)
	}

	restart := time.Now()
	p2 := testserve.Start(t, env, dicomAddr)
	until("the AI draft after the restart", `SELECT count(*) FROM report_versions WHERE kind = 'ai_draft'`)
	took := time.Since(restart)
	t.Logf("draft stored %.1f s after the restart (River's own rescue would wait %s)", took.Seconds(), 15*time.Minute)
	if took > time.Minute {
		t.Errorf("the draft took %s after the restart", took)
	}
	until("the job completed", `SELECT count(*) FROM river_job WHERE kind = 'draft_study' AND state = 'completed'`)
	var errs string
	if err := watch.QueryRow(ctx, `SELECT state::text, attempt, errors::text FROM river_job WHERE kind = 'draft_study'`).Scan(&state, &attempt, &errs); err != nil {
		t.Fatal(err)
	}
	if state != "completed" || attempt != 2 {
		t.Errorf("job %s after %d attempts: %s", state, attempt, errs)
	}
	var study string
	watch.QueryRow(ctx, `SELECT state FROM studies`).Scan(&study) //nolint:errcheck
	if study != "drafted" {
		t.Errorf("study %s\n%s", study, p2.Log())
	}
}
