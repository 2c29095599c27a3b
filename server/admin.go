package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/radraft/radraft/audit"
	"github.com/radraft/radraft/auth"
)

func (s *Server) adminRoutes(api *gin.RouterGroup) {
	adm := api.Group("/admin", s.RequireRole(auth.RoleAdmin))
	adm.GET("/audit", s.adminAudit)
	adm.GET("/users", s.adminListUsers)
	adm.POST("/users", s.adminCreateUser)
	adm.GET("/tokens", s.adminListTokens)
	adm.POST("/tokens", s.adminCreateToken)
	adm.DELETE("/tokens/:id", s.adminRevokeToken)
	adm.GET("/outbox", s.adminOutbox)
}

// adminAudit: GET /api/v1/admin/audit?actor=&action=&study_uid=&since=&until=&before_id=&limit=
func (s *Server) adminAudit(c *gin.Context) {
	q := audit.Query{Actor: c.Query("actor"), Action: c.Query("action"), StudyUID: c.Query("study_uid")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if v := c.Query(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				WriteError(c, http.StatusBadRequest, "bad_request", p.name+" must be RFC 3339")
				return
			}
			*p.dst = t
		}
	}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"before_id", &q.BeforeID}} {
		if v := c.Query(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				WriteError(c, http.StatusBadRequest, "bad_request", p.name+" must be a positive integer")
				return
			}
			*p.dst = n
		}
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			WriteError(c, http.StatusBadRequest, "bad_request", "limit must be 1..1000")
			return
		}
		q.Limit = n
	}
	rows, err := s.cfg.Audit.Read(c.Request.Context(), q)
	if err != nil {
		s.internalError(c, err)
		return
	}
	if !s.auditOr500(c, "audit.view", q.StudyUID, "", map[string]any{"rows": len(rows)}) {
		return
	}
	resp := gin.H{"entries": rows}
	if len(rows) > 0 && (q.Limit == 0 && len(rows) == 100 || len(rows) == q.Limit) {
		resp["next_before_id"] = rows[len(rows)-1].ID
	}
	c.JSON(http.StatusOK, resp)
}

func (s *Server) adminListUsers(c *gin.Context) {
	users, err := s.cfg.Auth.ListUsers(c.Request.Context())
	if err != nil {
		s.internalError(c, err)
		return
	}
	if users == nil {
		users = []auth.User{}
	}
	c.JSON(http.StatusOK, gin.H{"users": users})
}

type createUserRequest struct {
	Username string `json:"username"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

func (s *Server) adminCreateUser(c *gin.Context) {
	var req createUserRequest
	if !bindJSON(c, &req) {
		return
	}
	u, err := s.cfg.Auth.CreateUser(c.Request.Context(), req.Username, req.Role, req.Password)
	switch {
	case errors.Is(err, auth.ErrUserExists):
		WriteError(c, http.StatusConflict, "user_exists", "a user with that name exists")
		return
	case errors.Is(err, auth.ErrBadRole), errors.Is(err, auth.ErrPasswordTooWeak):
		WriteError(c, http.StatusUnprocessableEntity, "invalid", err.Error())
		return
	case err != nil:
		WriteError(c, http.StatusUnprocessableEntity, "invalid", "username is empty")
		return
	}
	if !s.auditOr500(c, "user.create", "", "user:"+u.Username, map[string]any{"role": u.Role}) {
		return
	}
	c.JSON(http.StatusCreated, u)
}

func (s *Server) adminListTokens(c *gin.Context) {
	toks, err := s.cfg.Auth.ListAPITokens(c.Request.Context())
	if err != nil {
		s.internalError(c, err)
		return
	}
	if toks == nil {
		toks = []auth.APIToken{}
	}
	c.JSON(http.StatusOK, gin.H{"tokens": toks})
}

type createTokenRequest struct {
	Username string `json:"username"`
	Name     string `json:"name"`
}

// adminCreateToken issues a bearer token; the secret is in this answer only.
func (s *Server) adminCreateToken(c *gin.Context) {
	var req createTokenRequest
	if !bindJSON(c, &req) {
		return
	}
	tok, t, err := s.cfg.Auth.CreateAPIToken(c.Request.Context(), req.Username, req.Name)
	if errors.Is(err, auth.ErrUserNotFound) {
		WriteError(c, http.StatusNotFound, "not_found", "no such user")
		return
	}
	if err != nil {
		s.internalError(c, err)
		return
	}
	if !s.auditOr500(c, "token.create", "", "token:"+strconv.FormatInt(t.ID, 10), map[string]any{"for": req.Username}) {
		return
	}
	c.JSON(http.StatusCreated, gin.H{"token": tok, "info": t})
}

func (s *Server) adminRevokeToken(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		WriteError(c, http.StatusBadRequest, "bad_request", "id must be a number")
		return
	}
	err = s.cfg.Auth.RevokeAPIToken(c.Request.Context(), id)
	if errors.Is(err, auth.ErrTokenNotFound) {
		WriteError(c, http.StatusNotFound, "not_found", "no such live token")
		return
	}
	if err != nil {
		s.internalError(c, err)
		return
	}
	if !s.auditOr500(c, "token.revoke", "", "token:"+c.Param("id"), nil) {
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) adminOutbox(c *gin.Context) {
	st, err := s.cfg.Store.OutboxStats(c.Request.Context())
	if err != nil {
		s.internalError(c, err)
		return
	}
	dests, err := s.cfg.Store.OutboxDestinations(c.Request.Context())
	if err != nil {
		s.internalError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"states": st, "destinations": dests})
}
