package server

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/radraft/radraft/drafts"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "radraft_session"

// CSRFHeader must carry the session's CSRF token on every cookie-
// authenticated request that changes something (POST, PUT, PATCH, DELETE).
const CSRFHeader = "X-CSRF-Token"

const (
	ctxUser    = "radraft.user"
	ctxSession = "radraft.session" // cookie value, when cookie-authenticated
)

func jsonDecoder(r io.Reader) *json.Decoder {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	return d
}

// CurrentUser is the authenticated user of the request (zero outside
// authenticated routes).
func CurrentUser(c *gin.Context) drafts.User {
	if u, ok := c.Get(ctxUser); ok {
		return u.(drafts.User)
	}
	return drafts.User{}
}

// RequireRole lets the request through only for users with one of roles.
func (s *Server) RequireRole(roles ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		u := CurrentUser(c)
		for _, r := range roles {
			if u.Role == r {
				c.Next()
				return
			}
		}
		WriteError(c, http.StatusForbidden, "forbidden", "your role may not do this")
	}
}

// Audit appends an audit row for the current request.
func (s *Server) Audit(c *gin.Context, action, studyUID, objectRef string, detail map[string]any) error {
	return s.cfg.Store.Audit(c.Request.Context(), drafts.AuditEntry{
		Actor: CurrentUser(c).Username, Action: action, StudyUID: studyUID, ObjectRef: objectRef,
		RemoteAddr: c.ClientIP(), Detail: detail,
	})
}

// auditOr500 audits and, when that fails, answers 500 and returns false.
func (s *Server) auditOr500(c *gin.Context, action, studyUID, objectRef string, detail map[string]any) bool {
	if err := s.Audit(c, action, studyUID, objectRef, detail); err != nil {
		s.internalError(c, err)
		return false
	}
	return true
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// authenticate accepts a bearer API token or a session cookie (with the CSRF
// header on writes); anything else is 401.
func (s *Server) authenticate(c *gin.Context) {
	ctx := c.Request.Context()
	if h := c.GetHeader("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			WriteError(c, http.StatusUnauthorized, "unauthenticated", "unsupported Authorization scheme")
			return
		}
		u, err := s.cfg.Store.UserByAPIToken(ctx, strings.TrimSpace(tok))
		if errors.Is(err, drafts.ErrNoSession) {
			WriteError(c, http.StatusUnauthorized, "unauthenticated", "invalid or revoked API token")
			return
		}
		if err != nil {
			s.internalError(c, err)
			return
		}
		c.Set(ctxUser, u)
		c.Next()
		return
	}
	id, err := c.Cookie(SessionCookie)
	if err != nil || id == "" {
		WriteError(c, http.StatusUnauthorized, "unauthenticated", "log in first")
		return
	}
	sess, err := s.cfg.Store.SessionByID(ctx, id, s.cfg.SessionIdle)
	if errors.Is(err, drafts.ErrNoSession) {
		s.clearCookie(c)
		WriteError(c, http.StatusUnauthorized, "unauthenticated", "session expired; log in again")
		return
	}
	if err != nil {
		s.internalError(c, err)
		return
	}
	if unsafeMethod(c.Request.Method) {
		got := c.GetHeader(CSRFHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) != 1 {
			WriteError(c, http.StatusForbidden, "csrf", "missing or wrong "+CSRFHeader+" header")
			return
		}
	}
	c.Set(ctxUser, sess.User)
	c.Set(ctxSession, id)
	c.Next()
}

func (s *Server) setCookie(c *gin.Context, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.cfg.TLS, SameSite: http.SameSiteStrictMode,
	})
}

func (s *Server) clearCookie(c *gin.Context) { s.setCookie(c, "", -1) }

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type sessionResponse struct {
	User      drafts.User `json:"user"`
	CSRFToken string      `json:"csrf_token,omitempty"`
	ExpiresAt *time.Time  `json:"expires_at,omitempty"`
}

func (s *Server) login(c *gin.Context) {
	var req loginRequest
	if !bindJSON(c, &req) {
		return
	}
	ip := c.ClientIP()
	if wait := s.limiter.blocked(req.Username, ip, time.Now()); wait > 0 {
		c.Header("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		WriteError(c, http.StatusTooManyRequests, "rate_limited", "too many failed logins; try again later")
		return
	}
	ctx := c.Request.Context()
	u, err := s.cfg.Store.Authenticate(ctx, req.Username, req.Password)
	if errors.Is(err, drafts.ErrBadCredentials) {
		s.limiter.fail(req.Username, ip, time.Now())
		// The username may be mistyped PHI-free text; it is not PHI.
		s.cfg.Store.Audit(ctx, drafts.AuditEntry{Actor: req.Username, Action: "auth.login_failed", RemoteAddr: ip}) //nolint:errcheck
		WriteError(c, http.StatusUnauthorized, "bad_credentials", "unknown user or wrong password")
		return
	}
	if err != nil {
		s.internalError(c, err)
		return
	}
	s.limiter.success(req.Username, ip)
	id, sess, err := s.cfg.Store.CreateSession(ctx, u, s.cfg.SessionIdle, ip)
	if err != nil {
		s.internalError(c, err)
		return
	}
	if err := s.cfg.Store.Audit(ctx, drafts.AuditEntry{Actor: u.Username, Action: "auth.login", RemoteAddr: ip}); err != nil {
		s.internalError(c, err)
		return
	}
	s.setCookie(c, id, 12*3600)
	c.JSON(http.StatusOK, sessionResponse{User: u, CSRFToken: sess.CSRFToken, ExpiresAt: &sess.ExpiresAt})
}

func (s *Server) logout(c *gin.Context) {
	if id, ok := c.Get(ctxSession); ok {
		if err := s.cfg.Store.DeleteSession(c.Request.Context(), id.(string)); err != nil {
			s.internalError(c, err)
			return
		}
	}
	if !s.auditOr500(c, "auth.logout", "", "", nil) {
		return
	}
	s.clearCookie(c)
	c.Status(http.StatusNoContent)
}

func (s *Server) me(c *gin.Context) {
	resp := sessionResponse{User: CurrentUser(c)}
	if id, ok := c.Get(ctxSession); ok {
		sess, err := s.cfg.Store.SessionByID(c.Request.Context(), id.(string), 0)
		if err == nil {
			resp.CSRFToken = sess.CSRFToken
			resp.ExpiresAt = &sess.ExpiresAt
		}
	}
	c.JSON(http.StatusOK, resp)
}

// loginLimiter counts failed logins per username+IP (5 per 15 minutes) and
// per IP (30 per 15 minutes). It is per process: with several API nodes
// behind a balancer each node counts on its own.
type loginLimiter struct {
	mu       sync.Mutex
	fails    map[string][]time.Time
	window   time.Duration
	perUser  int
	perIP    int
	lastSwep time.Time
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{fails: map[string][]time.Time{}, window: 15 * time.Minute, perUser: 5, perIP: 30}
}

func (l *loginLimiter) recent(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) > l.window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = ts
	}
	return ts
}

// blocked returns how long the caller must wait (0 = may try).
func (l *loginLimiter) blocked(user, ip string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSwep) > l.window {
		for k := range l.fails {
			l.recent(k, now)
		}
		l.lastSwep = now
	}
	var wait time.Duration
	for _, k := range []struct {
		key string
		max int
	}{{"u:" + strings.ToLower(user) + "|" + ip, l.perUser}, {"ip:" + ip, l.perIP}} {
		ts := l.recent(k.key, now)
		if len(ts) >= k.max {
			if w := l.window - now.Sub(ts[len(ts)-k.max]); w > wait {
				wait = w
			}
		}
	}
	return wait
}

func (l *loginLimiter) fail(user, ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range []string{"u:" + strings.ToLower(user) + "|" + ip, "ip:" + ip} {
		l.fails[k] = append(l.fails[k], now)
	}
}

func (l *loginLimiter) success(user, ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, "u:"+strings.ToLower(user)+"|"+ip)
}
