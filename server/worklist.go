package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/radraft/radraft/auth"
	"github.com/radraft/radraft/drafts"
)

func (s *Server) worklistRoutes(api *gin.RouterGroup) {
	api.GET("/worklist", s.RequireRole(auth.RoleRadiologist, auth.RoleQALead), s.worklist)
}

var worklistStatuses = map[string]bool{
	"receiving": true, "settled": true, "cancelled": true, "needs_view": true, "ready": true, "drafting": true, "draft_failed": true,
	drafts.WorklistDrafted: true, drafts.WorklistEdited: true, drafts.ReportSigned: true, drafts.ReportAmended: true,
}

// worklist: GET /api/v1/worklist?status=drafted,edited&from=2026-01-01&to=2026-01-31&q=smith&flag=open&order_issue=no_indication&sort=study_date&order=desc&limit=50&cursor=...
func (s *Server) worklist(c *gin.Context) {
	q := drafts.WorklistQuery{Text: c.Query("q"), Sort: c.DefaultQuery("sort", "study_date"), Cursor: c.Query("cursor")}
	if st := c.Query("status"); st != "" {
		for _, x := range strings.Split(st, ",") {
			x = strings.TrimSpace(x)
			if !worklistStatuses[x] {
				WriteError(c, http.StatusBadRequest, "bad_request", "unknown status "+strconv.Quote(x))
				return
			}
			q.Statuses = append(q.Statuses, x)
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if v := c.Query(p.name); v != "" {
			t, err := time.Parse("2006-01-02", v)
			if err != nil {
				WriteError(c, http.StatusBadRequest, "bad_request", p.name+" must be YYYY-MM-DD")
				return
			}
			*p.dst = t
		}
	}
	switch q.Flag = c.Query("flag"); q.Flag {
	case "", "open", "flagged", "none":
	default:
		WriteError(c, http.StatusBadRequest, "bad_request", "flag must be open, flagged or none")
		return
	}
	switch q.OrderIssue = c.Query("order_issue"); q.OrderIssue {
	case "", "cancelled", "no_indication", "mismatch":
	default:
		WriteError(c, http.StatusBadRequest, "bad_request", "order_issue must be cancelled, no_indication or mismatch")
		return
	}
	if q.Sort != "study_date" && q.Sort != "received" {
		WriteError(c, http.StatusBadRequest, "bad_request", "sort must be study_date or received")
		return
	}
	switch c.DefaultQuery("order", "desc") {
	case "asc":
		q.Asc = true
	case "desc":
	default:
		WriteError(c, http.StatusBadRequest, "bad_request", "order must be asc or desc")
		return
	}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			WriteError(c, http.StatusBadRequest, "bad_request", "limit must be 1..500")
			return
		}
		q.Limit = n
	}
	page, err := s.cfg.Store.Worklist(c.Request.Context(), q)
	if errors.Is(err, drafts.ErrBadCursor) {
		WriteError(c, http.StatusBadRequest, "bad_cursor", "cursor does not belong to this sort order")
		return
	}
	if err != nil {
		s.internalError(c, err)
		return
	}
	// The search text is PHI: the audit row says only that one was used.
	if !s.auditOr500(c, "worklist.view", "", "", map[string]any{
		"rows": len(page.Items), "statuses": q.Statuses, "flag": q.Flag, "search": q.Text != "", "page": q.Cursor != "", "order_issue": q.OrderIssue,
	}) {
		return
	}
	c.JSON(http.StatusOK, page)
}
