package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/radraft/radraft/audit"
	"github.com/radraft/radraft/auth"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/sentences"
)

type reportResp struct {
	Status         string `json:"status"`
	CurrentVersion int    `json:"current_version"`
	ETag           string `json:"etag"`
	Current        struct {
		Findings string `json:"findings"`
		Kind     string `json:"kind"`
		Author   string `json:"author"`
	} `json:"current"`
	AIDraft *struct {
		Findings string `json:"findings"`
	} `json:"ai_draft"`
	Sentences []struct {
		Text  string `json:"text"`
		Owner string `json:"owner"`
	} `json:"sentences"`
	Versions []struct {
		Version int    `json:"version"`
		Kind    string `json:"kind"`
	} `json:"versions"`
}

type errResp struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Current *reportResp `json:"current"`
}

func TestReviewEndToEnd(t *testing.T) {
	e := newEnv(t, nil)
	const uid = "1.2.826.0.1.3680043.8.498.1"
	ai := "No focal consolidation. No pleural effusion. Heart size is normal."
	e.seedStudy(uid, "ACC001", "MRN001", "DOE^JANE", "2026-11-20", ai)

	// Unauthenticated: 401 JSON.
	anon := e.anon()
	var er errResp
	if r := anon.do("GET", "/api/v1/worklist", nil, nil, &er); r.StatusCode != 401 || er.Error.Code != "unauthenticated" {
		t.Fatalf("anonymous worklist: %d %+v", r.StatusCode, er)
	}
	// Wrong password.
	if r := anon.do("POST", "/api/v1/auth/login", map[string]string{"username": "radiologist1", "password": "nope"}, nil, nil); r.StatusCode != 401 {
		t.Fatalf("bad login: %d", r.StatusCode)
	}

	a := e.login("radiologist1")
	b := e.login("radiologist1") // a second tab / session of the same user

	// Worklist shows the study with its status and indication.
	var wl drafts.WorklistPage
	if r := a.do("GET", "/api/v1/worklist?status=drafted&q=doe", nil, nil, &wl); r.StatusCode != 200 {
		t.Fatalf("worklist: %d %s", r.StatusCode, bodyOf(r))
	}
	if len(wl.Items) != 1 || wl.Items[0].StudyUID != uid || wl.Items[0].Status != "drafted" || wl.Items[0].Indication != "cough" {
		t.Fatalf("worklist items: %+v", wl.Items)
	}

	// GET report: AI draft, all sentences AI.
	var rep reportResp
	r := a.do("GET", "/api/v1/studies/"+uid+"/report", nil, nil, &rep)
	if r.StatusCode != 200 || rep.ETag != `"v1"` || r.Header.Get("ETag") != `"v1"` || rep.Current.Findings != ai || len(rep.Sentences) != 3 {
		t.Fatalf("get report: %d %+v", r.StatusCode, rep)
	}
	for _, s := range rep.Sentences {
		if s.Owner != sentences.OwnerAI {
			t.Fatalf("sentence %q owner %s", s.Text, s.Owner)
		}
	}

	// PUT without If-Match: 428. Without CSRF header: 403.
	if r := a.do("PUT", "/api/v1/studies/"+uid+"/report", map[string]string{"findings": "x"}, nil, nil); r.StatusCode != 428 {
		t.Fatalf("PUT without If-Match: %d", r.StatusCode)
	}
	noCSRF := *a
	noCSRF.csrf = ""
	if r := noCSRF.do("PUT", "/api/v1/studies/"+uid+"/report", map[string]string{"findings": "x"}, map[string]string{"If-Match": `"v1"`}, &er); r.StatusCode != 403 || er.Error.Code != "csrf" {
		t.Fatalf("PUT without CSRF: %d %+v", r.StatusCode, er)
	}

	// Session A edits v1 -> v2.
	edited := "No focal consolidation. Small left pleural effusion. Heart size is normal."
	r = a.do("PUT", "/api/v1/studies/"+uid+"/report", map[string]any{"findings": edited}, map[string]string{"If-Match": `"v1"`}, &rep)
	if r.StatusCode != 200 || rep.CurrentVersion != 2 || rep.ETag != `"v2"` || rep.Current.Findings != edited {
		t.Fatalf("edit: %d %s", r.StatusCode, bodyOf(r))
	}
	if rep.Sentences[1].Owner != sentences.OwnerHuman || rep.Sentences[0].Owner != sentences.OwnerAI {
		t.Fatalf("marking after edit: %+v", rep.Sentences)
	}

	// Session B still edits against v1: 412 with the current version, nothing lost.
	er = errResp{}
	r = b.do("PUT", "/api/v1/studies/"+uid+"/report", map[string]any{"findings": "B's text."}, map[string]string{"If-Match": `"v1"`}, &er)
	if r.StatusCode != 412 || er.Error.Code != "version_conflict" || er.Current == nil || er.Current.Current.Findings != edited || er.Current.CurrentVersion != 2 {
		t.Fatalf("conflict: %d %s", r.StatusCode, bodyOf(r))
	}
	if n := e.count(`SELECT count(*) FROM report_versions v JOIN reports r ON r.id=v.report_id WHERE r.study_uid=$1`, uid); n != 2 {
		t.Fatalf("versions after conflict: %d", n)
	}

	// Sign against v2.
	r = a.do("POST", "/api/v1/studies/"+uid+"/report/sign", nil, map[string]string{"If-Match": `"v2"`}, &rep)
	if r.StatusCode != 200 || rep.Status != "signed" || rep.CurrentVersion != 3 || rep.Current.Kind != "sign" || rep.Current.Findings != edited {
		t.Fatalf("sign: %d %s", r.StatusCode, bodyOf(r))
	}
	// The evaluation job and the ORU outbox row were written with it.
	if n := e.count(`SELECT count(*) FROM river_job WHERE kind='evaluate_report' AND (args->>'reference_version')::int=3`); n != 1 {
		t.Fatalf("evaluate jobs: %d", n)
	}
	if n := e.count(`SELECT count(*) FROM outbox WHERE study_uid=$1 AND version=3 AND state='pending'`, uid); n != 1 {
		t.Fatalf("outbox rows: %d", n)
	}

	// Any change of the signed report is refused.
	for _, tc := range []struct{ method, path string }{
		{"PUT", "/api/v1/studies/" + uid + "/report"},
		{"POST", "/api/v1/studies/" + uid + "/report/sign"},
		{"POST", "/api/v1/studies/" + uid + "/report/redraft"},
	} {
		er = errResp{}
		r = a.do(tc.method, tc.path, map[string]any{"findings": "changed."}, map[string]string{"If-Match": `"v3"`}, &er)
		if r.StatusCode != 409 || er.Error.Code != "report_signed" {
			t.Fatalf("%s %s on signed: %d %s", tc.method, tc.path, r.StatusCode, bodyOf(r))
		}
	}
	// Amend needs a reason.
	r = a.do("POST", "/api/v1/studies/"+uid+"/report/amend", map[string]any{"findings": "Amended."}, map[string]string{"If-Match": `"v3"`}, &er)
	if r.StatusCode != 422 {
		t.Fatalf("amend without reason: %d", r.StatusCode)
	}
	amended := edited + " Mild cardiomegaly."
	r = a.do("POST", "/api/v1/studies/"+uid+"/report/amend", map[string]any{"findings": amended, "reason": "missed finding"},
		map[string]string{"If-Match": `"v3"`}, &rep)
	if r.StatusCode != 200 || rep.Status != "amended" || rep.CurrentVersion != 4 || rep.Current.Kind != "amend" {
		t.Fatalf("amend: %d %s", r.StatusCode, bodyOf(r))
	}
	if n := e.count(`SELECT count(*) FROM outbox WHERE study_uid=$1`, uid); n != 2 {
		t.Fatalf("outbox rows after amend: %d", n)
	}
	// Versions are all kept.
	a.do("GET", "/api/v1/studies/"+uid+"/report", nil, nil, &rep)
	kinds := []string{}
	for _, v := range rep.Versions {
		kinds = append(kinds, v.Kind)
	}
	if strings.Join(kinds, ",") != "ai_draft,edit,sign,amend" {
		t.Fatalf("versions: %v", kinds)
	}

	// FHIR.
	var fhir map[string]any
	r = a.do("GET", "/api/v1/studies/"+uid+"/report/fhir", nil, nil, &fhir)
	if r.StatusCode != 200 || fhir["resourceType"] != "DiagnosticReport" || fhir["status"] != "amended" || fhir["conclusion"] != amended {
		t.Fatalf("fhir: %d %v", r.StatusCode, fhir)
	}

	// Study detail and the Part 10 file.
	var st map[string]any
	if r := a.do("GET", "/api/v1/studies/"+uid, nil, nil, &st); r.StatusCode != 200 || st["view_reason"] != "ViewPosition PA" {
		t.Fatalf("study: %d %v", r.StatusCode, st)
	}
	if r := a.do("GET", "/api/v1/studies/"+uid+"/instances/"+uid+".1.1/file", nil, nil, nil); r.StatusCode != 200 ||
		r.Header.Get("Content-Type") != "application/dicom" || bodyOf(r) != "DICM" {
		t.Fatalf("file: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}

	const uid3 = "1.2.826.0.1.3680043.8.498.3"
	e.seedStudy(uid3, "ACC003", "MRN003", "POE^E", "2026-11-22", "")
	// The radiologist picks the frontal image of a study (here: the same one).
	if r := a.do("POST", "/api/v1/studies/"+uid3+"/frontal", map[string]string{"sop_instance_uid": uid3 + ".1.1"}, nil, nil); r.StatusCode != 200 {
		t.Fatalf("choose frontal: %d %s", r.StatusCode, bodyOf(r))
	}
	if r := a.do("POST", "/api/v1/studies/"+uid3+"/frontal", map[string]string{"sop_instance_uid": "9.9.9"}, nil, nil); r.StatusCode != 422 {
		t.Fatalf("choose a foreign frontal: %d", r.StatusCode)
	}

	// A second study: re-draft of an unsigned report is queued.
	const uid2 = "1.2.826.0.1.3680043.8.498.2"
	e.seedStudy(uid2, "ACC002", "MRN002", "ROE^RICHARD", "2026-11-21", "Normal chest.")
	var rd map[string]any
	if r := a.do("POST", "/api/v1/studies/"+uid2+"/report/redraft", nil, nil, &rd); r.StatusCode != 202 || rd["queued"] != true {
		t.Fatalf("redraft: %d %s", r.StatusCode, bodyOf(r))
	}
	if n := e.count(`SELECT count(*) FROM river_job WHERE kind='draft_study' AND args->>'reason'='requested' AND args->>'study_uid'=$1`, uid2); n != 1 {
		t.Fatalf("draft jobs: %d", n)
	}

	// Audit rows for views and changes, with the actor and address, and no PHI.
	for _, action := range []string{"auth.login", "worklist.view", "report.view", "report.edit", "report.sign", "report.amend",
		"report.view_fhir", "study.view", "instance.view_file", "report.redraft", "auth.login_failed", "study.choose_frontal"} {
		if n := e.count(`SELECT count(*) FROM audit_log WHERE action=$1 AND remote_addr <> ''`, action); n == 0 {
			t.Errorf("no audit row %s", action)
		}
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE detail::text ILIKE '%doe%' OR detail::text ILIKE '%effusion%' OR detail::text ILIKE '%MRN%'`); n != 0 {
		t.Errorf("PHI in audit details: %d rows", n)
	}

	// Logout ends the session.
	if r := a.do("POST", "/api/v1/auth/logout", nil, nil, nil); r.StatusCode != 204 {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	if r := a.do("GET", "/api/v1/auth/me", nil, nil, nil); r.StatusCode != 401 {
		t.Fatalf("after logout: %d", r.StatusCode)
	}

	// Admin reads the audit log.
	adm := e.login("admin1")
	var audit struct {
		Entries []audit.Row `json:"entries"`
	}
	if r := adm.do("GET", "/api/v1/admin/audit?study_uid="+uid+"&limit=500", nil, nil, &audit); r.StatusCode != 200 || len(audit.Entries) < 8 {
		t.Fatalf("admin audit: %d %d", r.StatusCode, len(audit.Entries))
	}
	// An admin does not see PHI.
	if r := adm.do("GET", "/api/v1/studies/"+uid+"/report", nil, nil, nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("admin report: %d", r.StatusCode)
	}
}

func TestLoginRateLimitAndCookie(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.TLS = true })
	c := e.anon()
	for i := 0; i < 5; i++ {
		if r := c.do("POST", "/api/v1/auth/login", map[string]string{"username": "radiologist1", "password": "wrong"}, nil, nil); r.StatusCode != 401 {
			t.Fatalf("attempt %d: %d", i, r.StatusCode)
		}
	}
	r := c.do("POST", "/api/v1/auth/login", map[string]string{"username": "radiologist1", "password": testPassword}, nil, nil)
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("6th attempt: %d", r.StatusCode)
	}
	// Another user from the same address is not blocked.
	r = c.do("POST", "/api/v1/auth/login", map[string]string{"username": "qa_lead1", "password": testPassword}, nil, nil)
	if r.StatusCode != 200 {
		t.Fatalf("other user: %d", r.StatusCode)
	}
	ck := r.Header.Get("Set-Cookie")
	for _, want := range []string{SessionCookie + "=", "HttpOnly", "Secure", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(ck, want) {
			t.Errorf("cookie %q lacks %s", ck, want)
		}
	}
}

func TestBearerToken(t *testing.T) {
	e := newEnv(t, nil)
	e.seedStudy("1.2.3.4", "A1", "M1", "X^Y", "2026-01-02", "Normal.")
	adm := e.login("admin1")
	var tok struct {
		Token string `json:"token"`
		Info  struct {
			ID int64 `json:"id"`
		} `json:"info"`
	}
	if r := adm.do("POST", "/api/v1/admin/tokens", map[string]string{"username": "radiologist1", "name": "ris"}, nil, &tok); r.StatusCode != 201 || !strings.HasPrefix(tok.Token, auth.APITokenPrefix) {
		t.Fatalf("create token: %d", r.StatusCode)
	}
	if n := e.count(`SELECT count(*) FROM api_tokens WHERE token_hash=$1`, tok.Token); n != 0 {
		t.Fatal("token stored in clear")
	}
	api := e.anon()
	api.token = tok.Token
	// A bearer client needs no CSRF token.
	var rep reportResp
	if r := api.do("GET", "/api/v1/studies/1.2.3.4/report", nil, nil, &rep); r.StatusCode != 200 {
		t.Fatalf("token GET: %d", r.StatusCode)
	}
	if r := api.do("PUT", "/api/v1/studies/1.2.3.4/report", map[string]string{"findings": "Edited."}, map[string]string{"If-Match": rep.ETag}, nil); r.StatusCode != 200 {
		t.Fatalf("token PUT: %d %s", r.StatusCode, bodyOf(r))
	}
	if r := adm.do("DELETE", "/api/v1/admin/tokens/"+itoa64(tok.Info.ID), nil, nil, nil); r.StatusCode != 204 {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	if r := api.do("GET", "/api/v1/studies/1.2.3.4/report", nil, nil, nil); r.StatusCode != 401 {
		t.Fatalf("revoked token: %d", r.StatusCode)
	}
}
