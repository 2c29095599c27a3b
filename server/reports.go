package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/radraft/radraft/auth"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/sentences"
)

func (s *Server) reportRoutes(api *gin.RouterGroup) {
	read := s.RequireRole(auth.RoleRadiologist, auth.RoleQALead)
	write := s.RequireRole(auth.RoleRadiologist)
	api.GET("/studies/:studyUID/report", read, s.getReport)
	api.PUT("/studies/:studyUID/report", write, s.putReport)
	api.POST("/studies/:studyUID/report/sign", write, s.signReport)
	api.POST("/studies/:studyUID/report/amend", write, s.amendReport)
	api.POST("/studies/:studyUID/report/redraft", write, s.redraftReport)
	api.GET("/studies/:studyUID/report/fhir", read, s.reportFHIR)
}

// reportView is the JSON of a report: the report with its versions, the AI
// draft and current version, and the current text's sentences marked with
// who owns them (sentences.Mark).
type reportView struct {
	*drafts.Report
	ETag      string                     `json:"etag"`
	AIDraft   *drafts.ReportVersion      `json:"ai_draft"`
	Current   *drafts.ReportVersion      `json:"current"`
	Sentences []sentences.MarkedSentence `json:"sentences"`
	// AISentences counts current sentences still the AI's (owner ai).
	AISentences int `json:"ai_sentences"`
}

func etagOf(r *drafts.Report) string { return fmt.Sprintf(`"v%d"`, r.CurrentVersion) }

func newReportView(r *drafts.Report) reportView {
	v := reportView{Report: r, ETag: etagOf(r), AIDraft: r.AIDraft(), Current: r.Current(), Sentences: []sentences.MarkedSentence{}}
	if v.Current != nil {
		ai := ""
		if v.AIDraft != nil {
			ai = v.AIDraft.Findings
		}
		v.Sentences = sentences.Mark(ai, v.Current.Findings, v.Current.AcceptedSentences)
		for _, m := range v.Sentences {
			if m.Owner == sentences.OwnerAI {
				v.AISentences++
			}
		}
	}
	return v
}

// parseIfMatch reads the version of an If-Match ETag ("v3", W/"v3", v3).
func parseIfMatch(c *gin.Context) (int, bool) {
	h := strings.TrimSpace(c.GetHeader("If-Match"))
	if h == "" {
		WriteError(c, http.StatusPreconditionRequired, "precondition_required",
			"send If-Match with the ETag of the version you edited")
		return 0, false
	}
	h = strings.TrimPrefix(h, "W/")
	h = strings.Trim(h, `"`)
	h = strings.TrimPrefix(h, "v")
	n, err := strconv.Atoi(h)
	if err != nil || n <= 0 {
		WriteError(c, http.StatusBadRequest, "bad_request", "If-Match is not an ETag of this API")
		return 0, false
	}
	return n, true
}

// reportError answers the domain errors of report changes.
func (s *Server) reportError(c *gin.Context, err error) {
	var conflict *drafts.VersionConflictError
	switch {
	case errors.As(err, &conflict):
		c.Header("ETag", etagOf(conflict.Current))
		c.AbortWithStatusJSON(http.StatusPreconditionFailed, gin.H{
			"error":   gin.H{"code": "version_conflict", "message": "the report changed since you loaded it; your text was not saved"},
			"current": newReportView(conflict.Current),
		})
	case errors.Is(err, drafts.ErrNoReport):
		WriteError(c, http.StatusNotFound, "no_report", "this study has no report yet")
	case errors.Is(err, drafts.ErrStudyNotFound):
		WriteError(c, http.StatusNotFound, "not_found", "no such study")
	case errors.Is(err, drafts.ErrReportSigned):
		WriteError(c, http.StatusConflict, "report_signed", "the report is signed and cannot change; amend it with a reason")
	case errors.Is(err, drafts.ErrReportNotSigned):
		WriteError(c, http.StatusConflict, "report_not_signed", "only a signed report can be amended; edit it instead")
	case errors.Is(err, drafts.ErrReportEdited):
		WriteError(c, http.StatusConflict, "report_edited", "the draft was edited; a new AI draft would replace that text")
	case errors.Is(err, drafts.ErrEmptyReport):
		WriteError(c, http.StatusUnprocessableEntity, "empty_report", "the report text is empty")
	case errors.Is(err, drafts.ErrNoReason):
		WriteError(c, http.StatusUnprocessableEntity, "reason_required", "an amendment needs a reason")
	default:
		s.internalError(c, err)
	}
}

func (s *Server) getReport(c *gin.Context) {
	uid := c.Param("studyUID")
	r, err := s.cfg.Store.ReportForStudy(c.Request.Context(), uid)
	if err != nil {
		s.reportError(c, err)
		return
	}
	if !s.auditOr500(c, "report.view", uid, "report:"+r.ID, map[string]any{"version": r.CurrentVersion}) {
		return
	}
	c.Header("ETag", etagOf(r))
	c.JSON(http.StatusOK, newReportView(r))
}

type putReportRequest struct {
	Findings          string   `json:"findings"`
	AcceptedSentences []string `json:"accepted_sentences"`
}

func (s *Server) change(c *gin.Context, ifVersion int) drafts.ReportChange {
	return drafts.ReportChange{StudyUID: c.Param("studyUID"), IfVersion: ifVersion,
		Actor: CurrentUser(c).Username, RemoteAddr: c.ClientIP()}
}

func (s *Server) answerReport(c *gin.Context, status int, r *drafts.Report) {
	c.Header("ETag", etagOf(r))
	c.JSON(status, newReportView(r))
}

func (s *Server) putReport(c *gin.Context) {
	v, ok := parseIfMatch(c)
	if !ok {
		return
	}
	var req putReportRequest
	if !bindJSON(c, &req) {
		return
	}
	ch := s.change(c, v)
	ch.Findings, ch.Accepted = req.Findings, req.AcceptedSentences
	r, err := s.cfg.Store.EditReport(c.Request.Context(), ch)
	if err != nil {
		s.reportError(c, err)
		return
	}
	s.answerReport(c, http.StatusOK, r)
}

type signRequest struct {
	// Findings, when given, is the text signed (saved and signed at once);
	// empty signs the current text.
	Findings          string   `json:"findings"`
	AcceptedSentences []string `json:"accepted_sentences"`
}

func (s *Server) signReport(c *gin.Context) {
	v, ok := parseIfMatch(c)
	if !ok {
		return
	}
	var req signRequest
	if c.Request.ContentLength != 0 && !bindJSON(c, &req) {
		return
	}
	ch := s.change(c, v)
	ch.Findings, ch.Accepted = req.Findings, req.AcceptedSentences
	r, err := s.cfg.Store.SignReport(c.Request.Context(), ch, s.cfg.ResultsOut)
	if err != nil {
		s.reportError(c, err)
		return
	}
	s.answerReport(c, http.StatusOK, r)
}

type amendRequest struct {
	Findings string `json:"findings"`
	Reason   string `json:"reason"`
}

func (s *Server) amendReport(c *gin.Context) {
	v, ok := parseIfMatch(c)
	if !ok {
		return
	}
	var req amendRequest
	if !bindJSON(c, &req) {
		return
	}
	ch := s.change(c, v)
	ch.Findings, ch.Reason = req.Findings, req.Reason
	r, err := s.cfg.Store.AmendReport(c.Request.Context(), ch, s.cfg.ResultsOut)
	if err != nil {
		s.reportError(c, err)
		return
	}
	s.answerReport(c, http.StatusOK, r)
}

func (s *Server) redraftReport(c *gin.Context) {
	uid := c.Param("studyUID")
	queued, err := s.cfg.Store.RequestRedraft(c.Request.Context(), uid, CurrentUser(c).Username, c.ClientIP())
	if err != nil {
		s.reportError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"queued": queued, "study_uid": uid})
}
