package drafts_test

import (
	"context"
	"errors"
	"testing"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
)

// seedReadyStudy inserts a settled study with a frontal CR instance.
func seedReadyStudy(t *testing.T, s *drafts.Store, uid string) {
	t.Helper()
	draftstest.MustExec(t, s, `INSERT INTO studies (study_uid, state, settled_at, frontal_sop_instance_uid) VALUES ($1, 'ready', now(), $1 || '.1.1')`, uid)
	draftstest.MustExec(t, s, `INSERT INTO series (series_uid, study_uid, modality) VALUES ($1 || '.1', $1, 'CR')`, uid)
	draftstest.MustExec(t, s, `INSERT INTO instances (sop_instance_uid, sop_class_uid, series_uid, study_uid, transfer_syntax_uid, path, file_size, dataset_size, sha256)
		VALUES ($1 || '.1.1', '1.2.840.10008.5.1.4.1.1.1', $1 || '.1', $1, '1.2.840.10008.1.2.1', 'a/b/c.dcm', 10, 10, 'x')`, uid)
}

func TestSaveAIDraftVersions(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	seedReadyStudy(t, s, "1.2.3")

	tg, err := s.DraftTarget(ctx, "1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if tg.FrontalPath != "a/b/c.dcm" || tg.ReportID != "" || tg.SettledAt.IsZero() || tg.Redraftable() != nil {
		t.Fatalf("target %+v", tg)
	}
	if _, err := s.DraftTarget(ctx, "9.9"); !errors.Is(err, drafts.ErrStudyNotFound) {
		t.Fatalf("missing study: %v", err)
	}
	if err := s.MarkDrafting(ctx, "1.2.3", 0); err != nil {
		t.Fatal(err)
	}
	d := drafts.AIDraft{StudyUID: "1.2.3", Findings: "No acute process.", ModelName: "demo", ModelVersion: "1",
		Prompt: "USER: ...", Indication: "", IndicationSource: "", Timings: map[string]any{"decode_ms": 12.5}}
	id, v, err := s.SaveAIDraft(ctx, d)
	if err != nil || v != 1 {
		t.Fatalf("first draft: %v v%d", err, v)
	}
	var state, kind, author, model, timings string
	if err := s.DB().QueryRow(ctx, `SELECT st.state, rv.kind, rv.author, rv.model_name, rv.timings::text
		FROM studies st JOIN reports r USING (study_uid) JOIN report_versions rv ON rv.report_id = r.id
		WHERE st.study_uid='1.2.3' AND rv.version=1`).Scan(&state, &kind, &author, &model, &timings); err != nil {
		t.Fatal(err)
	}
	if state != "drafted" || kind != "ai_draft" || author != "ai" || model != "demo" || timings != `{"decode_ms": 12.5}` {
		t.Fatalf("got %s %s %s %s %s", state, kind, author, model, timings)
	}

	// Re-draft of an untouched draft: version 2, now the AI and current one.
	d.Indication, d.IndicationSource = "cough", "hl7:OBR-31"
	id2, v, err := s.SaveAIDraft(ctx, d)
	if err != nil || v != 2 || id2 != id {
		t.Fatalf("re-draft: %v v%d %s", err, v, id2)
	}
	var cur, ai int
	if err := s.DB().QueryRow(ctx, `SELECT current_version, ai_version FROM reports WHERE id=$1`, id).Scan(&cur, &ai); err != nil || cur != 2 || ai != 2 {
		t.Fatalf("report: %v %d %d", err, cur, ai)
	}

	// A radiologist's edit stops re-drafts.
	draftstest.MustExec(t, s, `INSERT INTO report_versions (report_id, version, kind, author, findings) VALUES ($1, 3, 'edit', 'alice', 'x')`, id)
	draftstest.MustExec(t, s, `UPDATE reports SET current_version=3 WHERE id=$1`, id)
	if _, _, err := s.SaveAIDraft(ctx, d); !errors.Is(err, drafts.ErrReportEdited) {
		t.Fatalf("edited: %v", err)
	}
	draftstest.MustExec(t, s, `UPDATE reports SET status='signed' WHERE id=$1`, id)
	if _, _, err := s.SaveAIDraft(ctx, d); !errors.Is(err, drafts.ErrReportSigned) {
		t.Fatalf("signed: %v", err)
	}
	var audits int
	if err := s.DB().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action='report.ai_draft' AND study_uid='1.2.3'`).Scan(&audits); err != nil || audits != 2 {
		t.Fatalf("audit rows %d %v", audits, err)
	}
}

func TestMarkDraftFailed(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	seedReadyStudy(t, s, "1.2.4")
	if err := s.MarkDraftFailed(ctx, "1.2.4", 0, "pixels not decodable"); err != nil {
		t.Fatal(err)
	}
	var state, reason string
	if err := s.DB().QueryRow(ctx, `SELECT state, state_reason FROM studies WHERE study_uid='1.2.4'`).Scan(&state, &reason); err != nil {
		t.Fatal(err)
	}
	if state != "draft_failed" || reason != "pixels not decodable" {
		t.Fatalf("%s %s", state, reason)
	}
	if err := s.MarkDraftFailed(ctx, "0.0", 0, "x"); !errors.Is(err, drafts.ErrStudyNotFound) {
		t.Fatalf("missing: %v", err)
	}
}

// A draft from a demo bundle says so on its version (the worker records the
// bundle's demo flag in the timings), so every client can label it.
func TestDemoDraftIsMarked(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	for uid, demo := range map[string]bool{"1.2.7": true, "1.2.8": false} {
		seedReadyStudy(t, s, uid)
		if _, _, err := s.SaveAIDraft(ctx, drafts.AIDraft{StudyUID: uid, Findings: "Clear lungs.", ModelName: "m", ModelVersion: "1",
			Timings: map[string]any{"demo": demo}}); err != nil {
			t.Fatal(err)
		}
		r, err := s.ReportForStudy(ctx, uid)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Versions[0].Demo; got != demo {
			t.Errorf("%s: demo %v, want %v", uid, got, demo)
		}
	}
}
