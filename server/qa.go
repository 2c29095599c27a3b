package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/radraft/radraft/auth"
	"github.com/radraft/radraft/chexprompt"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/qa"
	"github.com/radraft/radraft/workflow"
)

// QA routes (CheXprompt): flags of AI drafts with clinically significant
// errors, their dispositions, metrics per model version and ISO week, a CSV
// export, and the radiologist's on-demand second reader.
func (s *Server) qaRoutes(api *gin.RouterGroup) {
	qa := api.Group("/qa", s.RequireRole(auth.RoleQALead, auth.RoleAdmin))
	qa.GET("/flags", s.listFlags)
	qa.GET("/flags/:flagID", s.getFlag)
	qa.POST("/flags/:flagID/disposition", s.disposeFlag)
	qa.GET("/metrics", s.qaMetrics)
	qa.GET("/export.csv", s.qaExport)
	api.POST("/studies/:studyUID/report/check", s.RequireRole(auth.RoleRadiologist), s.secondReader)
	api.GET("/studies/:studyUID/report/evaluations", s.RequireRole(auth.RoleRadiologist, auth.RoleQALead, auth.RoleAdmin), s.reportEvaluations)
}

// apiError is one error in the UI's shape: the letter (A-F) as type, the
// result-shape name, and where it is.
type apiError struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	Significant bool   `json:"significant"`
	Count       int    `json:"count"`
	Finding     string `json:"finding,omitempty"`
	Sentence    string `json:"sentence,omitempty"` // omissions: the reference's sentence; others: the candidate's
	Explanation string `json:"explanation,omitempty"`
	// Indexes into reference_sentences / candidate_sentences.
	ReferenceSentences []int `json:"reference_sentences"`
	CandidateSentences []int `json:"candidate_sentences"`
}

func letterOf(name string) string { return chexprompt.ErrorType(name).Letter() }

// errorsFromCounts lists per-type counts (for list views).
func errorsFromCounts(sig, insig map[string]int) []apiError {
	out := []apiError{}
	for _, set := range []struct {
		m   map[string]int
		sig bool
	}{{sig, true}, {insig, false}} {
		for _, t := range qa.EvaluationErrorTypes {
			if n := set.m[t]; n > 0 {
				out = append(out, apiError{Type: letterOf(t), Name: t, Significant: set.sig, Count: n,
					ReferenceSentences: []int{}, CandidateSentences: []int{}})
			}
		}
	}
	return out
}

// errorsFromResult lists a result's errors one by one with their sentences;
// when the list and the counts disagree (an LLM judge's counts), the counts
// are what QA sees: per-type rows fill the difference.
func errorsFromResult(r *chexprompt.Result) []apiError {
	out := []apiError{}
	listed := map[string]int{}
	for _, e := range r.Errors {
		ae := apiError{Type: e.Type.Letter(), Name: string(e.Type), Significant: e.Significant, Count: 1, Finding: e.Finding,
			Explanation: e.Reason, ReferenceSentences: nonNilInts(e.ReferenceSentences), CandidateSentences: nonNilInts(e.CandidateSentences)}
		// The sentence shown: for an omission the reference's (what was
		// left out), otherwise the candidate's (what is wrong).
		fromCand := func() bool {
			if len(e.CandidateSentences) > 0 && e.CandidateSentences[0] < len(r.CandidateSentences) {
				ae.Sentence = r.CandidateSentences[e.CandidateSentences[0]]
				return true
			}
			return false
		}
		fromRef := func() bool {
			if len(e.ReferenceSentences) > 0 && e.ReferenceSentences[0] < len(r.ReferenceSentences) {
				ae.Sentence = r.ReferenceSentences[e.ReferenceSentences[0]]
				return true
			}
			return false
		}
		if e.Type == chexprompt.OmissionFinding || e.Type == chexprompt.OmissionComparison {
			_ = fromRef() || fromCand()
		} else {
			_ = fromCand() || fromRef()
		}
		key := strconv.FormatBool(e.Significant) + string(e.Type)
		if r.Engine != chexprompt.EngineOffline {
			total := r.ClinicallyInsignificant.Get(e.Type)
			if e.Significant {
				total = r.ClinicallySignificant.Get(e.Type)
			}
			if listed[key] >= total {
				continue // the judge did not count it
			}
		}
		listed[key]++
		out = append(out, ae)
	}
	for _, sig := range []bool{true, false} {
		c := r.ClinicallyInsignificant
		if sig {
			c = r.ClinicallySignificant
		}
		for _, t := range chexprompt.ErrorTypes {
			if n := c.Get(t) - listed[strconv.FormatBool(sig)+string(t)]; n > 0 {
				out = append(out, apiError{Type: t.Letter(), Name: string(t), Significant: sig, Count: n,
					Explanation: "counted by the judge; sentence not located", ReferenceSentences: []int{}, CandidateSentences: []int{}})
			}
		}
	}
	return out
}

func nonNilInts(x []int) []int {
	if x == nil {
		return []int{}
	}
	return x
}

// evaluationView is an evaluation for the API.
type evaluationView struct {
	ID                 int64          `json:"id"`
	ReportID           string         `json:"report_id"`
	CandidateVersion   int            `json:"candidate_version"`
	ReferenceVersion   int            `json:"reference_version"`
	ModelName          string         `json:"model_name"`
	ModelVersion       string         `json:"model_version"`
	Engine             string         `json:"engine"`
	JudgeModel         string         `json:"judge_model"`
	Note               string         `json:"note,omitempty"`
	Significant        map[string]int `json:"clinically_significant"`
	Insignificant      map[string]int `json:"clinically_insignificant"`
	SignificantTotal   int            `json:"significant_total"`
	InsignificantTotal int            `json:"insignificant_total"`
	Errors             []apiError     `json:"errors"`
	ReferenceSentences []string       `json:"reference_sentences"`
	CandidateSentences []string       `json:"candidate_sentences"`
	Raw                string         `json:"raw"`
	SignedAt           time.Time      `json:"signed_at"`
	CreatedAt          time.Time      `json:"created_at"`
}

func newEvaluationView(e *qa.Evaluation) evaluationView {
	v := evaluationView{ID: e.ID, ReportID: e.ReportID, CandidateVersion: e.CandidateVersion, ReferenceVersion: e.ReferenceVersion,
		ModelName: e.ModelName, ModelVersion: e.ModelVersion, Engine: e.Engine, JudgeModel: e.JudgeModel, Note: e.Note,
		Significant: e.Significant, Insignificant: e.Insignificant, SignificantTotal: e.SignificantTotal,
		InsignificantTotal: e.InsignificantTotal, Raw: e.Raw, SignedAt: e.ReferenceAt, CreatedAt: e.CreatedAt,
		ReferenceSentences: []string{}, CandidateSentences: []string{}}
	var r chexprompt.Result
	if err := json.Unmarshal(e.Result, &r); err == nil && r.Engine != "" {
		v.Errors = errorsFromResult(&r)
		v.ReferenceSentences, v.CandidateSentences = r.ReferenceSentences, r.CandidateSentences
	} else {
		v.Errors = errorsFromCounts(e.Significant, e.Insignificant)
	}
	return v
}

type flagView struct {
	*qa.Flag
	Errors []apiError `json:"errors"`
}

// flagFilter reads the query: type (A-F or a result-shape name),
// significance, model_version, status, disposition, from and to (dates,
// YYYY-MM-DD, both inclusive, UTC, or RFC 3339 times), cursor, limit.
func flagFilter(c *gin.Context) (qa.FlagFilter, bool) {
	var f qa.FlagFilter
	bad := func(msg string) (qa.FlagFilter, bool) {
		WriteError(c, http.StatusBadRequest, "bad_request", msg)
		return f, false
	}
	if t := strings.TrimSpace(c.Query("type")); t != "" {
		if len(t) == 1 {
			i := int(strings.ToUpper(t)[0]) - 'A'
			if i < 0 || i >= len(qa.EvaluationErrorTypes) {
				return bad("type must be A-F or an error type name")
			}
			t = qa.EvaluationErrorTypes[i]
		}
		f.ErrorType = t
	}
	f.Significance = c.Query("significance")
	f.ModelVersion = c.Query("model_version")
	f.Status = c.Query("status")
	f.Disposition = c.Query("disposition")
	parse := func(v string, endOfDay bool) (time.Time, bool) {
		if v == "" {
			return time.Time{}, true
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, true
		}
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return time.Time{}, false
		}
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	var ok bool
	if f.From, ok = parse(c.Query("from"), false); !ok {
		return bad("from must be YYYY-MM-DD or an RFC 3339 time")
	}
	if f.To, ok = parse(c.Query("to"), true); !ok {
		return bad("to must be YYYY-MM-DD or an RFC 3339 time")
	}
	if v := c.Query("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return bad("cursor is not one this API gave")
		}
		f.AfterID = n
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return bad("limit must be a positive number")
		}
		f.Limit = n
	}
	return f, true
}

func (s *Server) filterError(c *gin.Context, err error) {
	if errors.Is(err, qa.ErrInvalidFilter) {
		WriteError(c, http.StatusBadRequest, "bad_request", "invalid filter: type, significance, status or disposition")
		return
	}
	s.internalError(c, err)
}

func (s *Server) listFlags(c *gin.Context) {
	f, ok := flagFilter(c)
	if !ok {
		return
	}
	flags, next, err := s.cfg.QA.ListFlags(c.Request.Context(), f)
	if err != nil {
		s.filterError(c, err)
		return
	}
	items := make([]flagView, 0, len(flags))
	for _, fl := range flags {
		items = append(items, flagView{Flag: fl, Errors: errorsFromCounts(fl.Significant, fl.Insignificant)})
	}
	// The list shows accession numbers: audited, with the count only.
	if !s.auditOr500(c, "qa.flags.list", "", "qa_flags", map[string]any{"count": len(items)}) {
		return
	}
	var cursor any
	if next != "" {
		cursor = next
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_cursor": cursor})
}

func flagID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("flagID"), 10, 64)
	if err != nil || id <= 0 {
		WriteError(c, http.StatusNotFound, "not_found", "no such flag")
		return 0, false
	}
	return id, true
}

type flagDetailView struct {
	flagView
	AIFindings     string         `json:"ai_findings"`
	SignedFindings string         `json:"signed_findings"`
	Evaluation     evaluationView `json:"evaluation"`
}

func newFlagDetailView(d *qa.FlagDetail) flagDetailView {
	ev := newEvaluationView(d.Evaluation)
	return flagDetailView{flagView: flagView{Flag: &d.Flag, Errors: ev.Errors}, AIFindings: d.AIFindings,
		SignedFindings: d.SignedFindings, Evaluation: ev}
}

func (s *Server) getFlag(c *gin.Context) {
	id, ok := flagID(c)
	if !ok {
		return
	}
	d, err := s.cfg.QA.FlagByID(c.Request.Context(), id)
	if errors.Is(err, qa.ErrFlagNotFound) {
		WriteError(c, http.StatusNotFound, "not_found", "no such flag")
		return
	}
	if err != nil {
		s.internalError(c, err)
		return
	}
	if !s.auditOr500(c, "qa.flag.view", d.StudyUID, "qa_flag:"+itoa64(id), nil) {
		return
	}
	c.JSON(http.StatusOK, newFlagDetailView(d))
}

func (s *Server) disposeFlag(c *gin.Context) {
	id, ok := flagID(c)
	if !ok {
		return
	}
	var body struct {
		Disposition string `json:"disposition"`
		Note        string `json:"note"`
	}
	if !bindJSON(c, &body) {
		return
	}
	if len(body.Note) > 4000 {
		WriteError(c, http.StatusBadRequest, "bad_request", "note is longer than 4000 bytes")
		return
	}
	u := CurrentUser(c)
	d, err := s.cfg.QA.DisposeFlag(c.Request.Context(), id, body.Disposition, body.Note, u.Username, c.ClientIP())
	switch {
	case errors.Is(err, qa.ErrInvalidDisposition):
		WriteError(c, http.StatusBadRequest, "bad_request", "disposition must be model_error_confirmed, acceptable or judge_wrong")
		return
	case errors.Is(err, qa.ErrFlagNotFound):
		WriteError(c, http.StatusNotFound, "not_found", "no such flag")
		return
	case err != nil:
		s.internalError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"flag": newFlagDetailView(d)})
}

type metricsRow struct {
	qa.WeekMetrics
	// ErrorFree counts drafts free of clinically significant errors (the
	// UI divides by Evaluated); ErrorFreeShare is the share.
	ErrorFree      int     `json:"error_free"`
	ErrorFreeShare float64 `json:"error_free_share"`
	// ByType: mean errors per draft per type letter (both significances).
	ByType map[string]float64 `json:"by_type"`
}

func (s *Server) qaMetrics(c *gin.Context) {
	f, ok := flagFilter(c)
	if !ok {
		return
	}
	rows, err := s.cfg.QA.WeeklyMetrics(c.Request.Context(), f)
	if err != nil {
		s.internalError(c, err)
		return
	}
	out := make([]metricsRow, 0, len(rows))
	engines := map[string]bool{}
	for _, r := range rows {
		m := metricsRow{WeekMetrics: r, ErrorFree: r.FreeOfSignificant, ErrorFreeShare: r.ErrorFreeShare, ByType: map[string]float64{}}
		for t, v := range r.ByType {
			m.ByType[letterOf(t)] = v
		}
		for _, e := range strings.Split(r.Engines, ",") {
			engines[e] = true
		}
		out = append(out, m)
	}
	resp := gin.H{"weeks": out}
	if engines[chexprompt.EngineOffline] {
		resp["note"] = chexprompt.OfflineNote
	}
	c.JSON(http.StatusOK, resp)
}

// qaExport streams evaluations as CSV (all, or flagged=true for flagged
// ones only), with the flag filters. No report text.
func (s *Server) qaExport(c *gin.Context) {
	f, ok := flagFilter(c)
	if !ok {
		return
	}
	onlyFlagged := c.Query("flagged") == "true" || f.Status != "" || f.Disposition != ""
	if !s.auditOr500(c, "qa.export", "", "evaluations", map[string]any{"flagged_only": onlyFlagged}) {
		return
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="radraft-evaluations.csv"`)
	c.Status(http.StatusOK)
	if _, err := s.cfg.QA.ExportEvaluationsCSV(c.Request.Context(), c.Writer, f, onlyFlagged); err != nil {
		// Headers are gone; the truncated body is what the client sees.
		s.log.Error("qa export failed", "err", err)
	}
}

// secondReader checks the radiologist's text (body "findings"; empty = the
// report's current text) against the AI draft, offline and synchronously.
func (s *Server) secondReader(c *gin.Context) {
	uid := c.Param("studyUID")
	var body struct {
		Findings string `json:"findings"`
	}
	if c.Request.ContentLength != 0 && !bindJSON(c, &body) {
		return
	}
	sr, err := workflow.SecondRead(c.Request.Context(), s.cfg.Store, uid, body.Findings)
	switch {
	case errors.Is(err, drafts.ErrNoReport), errors.Is(err, drafts.ErrStudyNotFound):
		WriteError(c, http.StatusNotFound, "not_found", "no report for this study")
		return
	case errors.Is(err, qa.ErrNoAIDraft):
		WriteError(c, http.StatusConflict, "no_ai_draft", "this report has no AI draft to compare with")
		return
	case err != nil:
		s.internalError(c, err)
		return
	}
	if !s.auditOr500(c, "report.second_read", uid, "report:"+sr.ReportID, map[string]any{
		"ai_version": sr.AIVersion, "significant": sr.Result.SignificantTotal(), "total": sr.Result.Total()}) {
		return
	}
	res := sr.Result
	c.JSON(http.StatusOK, gin.H{"check": gin.H{
		"status":                   "done",
		"evaluator":                res.Engine,
		"model":                    res.Model,
		"note":                     res.Note,
		"ai_version":               sr.AIVersion,
		"clinically_significant":   res.ClinicallySignificant,
		"clinically_insignificant": res.ClinicallyInsignificant,
		"significant_total":        res.SignificantTotal(),
		"total":                    res.Total(),
		"errors":                   errorsFromResult(res),
		// reference = the radiologist's text, candidate = the AI draft
		"current_sentences": res.ReferenceSentences,
		"ai_sentences":      res.CandidateSentences,
		"differing_current": sr.DifferingCurrent,
		"differing_ai":      sr.DifferingAI,
	}})
}

// reportEvaluations lists the stored evaluations of a study's report.
func (s *Server) reportEvaluations(c *gin.Context) {
	uid := c.Param("studyUID")
	r, err := s.cfg.Store.ReportForStudy(c.Request.Context(), uid)
	if errors.Is(err, drafts.ErrNoReport) || errors.Is(err, drafts.ErrStudyNotFound) {
		WriteError(c, http.StatusNotFound, "not_found", "no report for this study")
		return
	}
	if err != nil {
		s.internalError(c, err)
		return
	}
	evs, err := s.cfg.QA.EvaluationsForReport(c.Request.Context(), r.ID)
	if err != nil {
		s.internalError(c, err)
		return
	}
	if !s.auditOr500(c, "report.evaluations.view", uid, "report:"+r.ID, map[string]any{"count": len(evs)}) {
		return
	}
	items := make([]evaluationView, 0, len(evs))
	for _, e := range evs {
		items = append(items, newEvaluationView(e))
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}
