package workflow_test

import (
	"context"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/ingest"
	"github.com/radraft/radraft/workflow"
)

// TestRecoveryFromKeptCopy is issue 11's recovery: the stored frontal image
// does not decode (damaged JPEG 2000), the PACS re-sends the same SOP
// Instance decodable (kept aside as a conflicting copy): the study, already
// draft_failed, is queued again by the re-send itself, and the worker
// drafts from the copy, which becomes the indexed instance while the
// undecodable one is kept as the conflict.
func TestRecoveryFromKeptCopy(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	const uid, sop = "6.1", "6.1.1.1"
	seedDraftFailed(t, s, uid)
	w := &workflow.DraftWorker{Store: s, Drafter: pathDrafter{}, StorageDir: "/data",
		Indication: func(ctx context.Context, uid string) (workflow.Indication, error) {
			return workflow.Indication{Text: "cough", Source: "order", HasOrder: true}, nil
		}}
	// The re-send arrives: the SCP keeps it aside and records it.
	if err := s.RecordConflict(ctx, ingest.InstanceConflict{SOPInstanceUID: sop,
		Path: ".conflicts/" + sop + "/resent-decodable.dcm", SHA256: "resent", FileSize: 2, CallingAE: "PACS",
		TransferSyntaxUID: "1.2.840.10008.1.2.1"}); err != nil {
		t.Fatal(err)
	}
	var state string
	var gen int64
	if err := s.DB().QueryRow(ctx, `SELECT state, draft_generation FROM studies WHERE study_uid = $1`, uid).Scan(&state, &gen); err != nil {
		t.Fatal(err)
	}
	var reason string
	var jobGen int64
	if err := s.DB().QueryRow(ctx, `SELECT args->>'reason', (args->>'generation')::bigint FROM river_job
		WHERE kind = 'draft_study' AND args->>'study_uid' = $1 AND state = 'available'`, uid).Scan(&reason, &jobGen); err != nil {
		t.Fatalf("no draft job queued by the re-send: %v", err)
	}
	if state != "ready" || reason != "new_copy" || jobGen != gen || gen != 1 {
		t.Fatalf("after the re-send: study %s generation %d, job %q generation %d", state, gen, reason, jobGen)
	}
	job := &river.Job[drafts.DraftStudyArgs]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1, MaxAttempts: 5},
		Args: drafts.DraftStudyArgs{StudyUID: uid, Reason: reason, Generation: jobGen}}
	if err := w.Work(ctx, job); err != nil {
		t.Fatal(err)
	}
	if st, r := studyState(t, s, uid); st != "drafted" {
		t.Fatalf("study %s %q, want drafted", st, r)
	}
	var path, ts, keptPath, keptTS string
	if err := s.DB().QueryRow(ctx, `SELECT i.path, i.transfer_syntax_uid, c.path, c.transfer_syntax_uid
		FROM instances i JOIN instance_conflicts c USING (sop_instance_uid) WHERE i.sop_instance_uid = $1`, sop).
		Scan(&path, &ts, &keptPath, &keptTS); err != nil {
		t.Fatal(err)
	}
	if path != ".conflicts/"+sop+"/resent-decodable.dcm" || ts != "1.2.840.10008.1.2.1" ||
		keptPath != uid+"/undecodable.dcm" || keptTS != "1.2.840.10008.1.2.4.90" {
		t.Fatalf("instance %s (%s), kept %s (%s): the decodable copy must be the instance", path, ts, keptPath, keptTS)
	}
	// A re-send to a study that is not draft_failed queues nothing more.
	if err := s.RecordConflict(ctx, ingest.InstanceConflict{SOPInstanceUID: sop, Path: ".conflicts/x.dcm", SHA256: "x"}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.DB().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE args->>'study_uid' = $1`, uid).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d draft jobs (%v), want the one", n, err)
	}
}
