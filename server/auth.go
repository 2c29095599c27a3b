package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/radraft/radraft/audit"
	"github.com/radraft/radraft/auth"
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
func CurrentUser(c *gin.Context) auth.User {
	if u, ok := c.Get(ctxUser); ok {
		return u.(auth.User)
	}
	return auth.User{}
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
	return s.cfg.Audit.Append(c.Request.Context(), audit.Entry{
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
		u, err := s.cfg.Auth.UserByAPIToken(ctx, strings.TrimSpace(tok))
		if errors.Is(err, auth.ErrNoSession) {
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
	sess, err := s.cfg.Auth.SessionByID(ctx, id, s.cfg.SessionIdle, s.cfg.SessionMax)
	if errors.Is(err, auth.ErrNoSession) {
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
	User      auth.User  `json:"user"`
	CSRFToken string     `json:"csrf_token,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func (s *Server) login(c *gin.Context) {
	var req loginRequest
	if !bindJSON(c, &req) {
		return
	}
	ip := c.ClientIP()
	ctx := c.Request.Context()
	// The attempt is counted before the password is hashed, so that
	// concurrent attempts cannot all pass the limit.
	userKey, ipKey := loginKeys(req.Username, ip)
	wait, err := s.cfg.Auth.ReserveLoginAttempt(ctx, []auth.ThrottleKey{
		{Key: userKey, Limit: loginPerUser}, {Key: ipKey, Limit: loginPerIP}}, loginWindow)
	if err != nil {
		s.internalError(c, err)
		return
	}
	if wait > 0 {
		c.Header("Retry-After", strconv.Itoa(int(wait.Round(time.Second).Seconds())))
		WriteError(c, http.StatusTooManyRequests, "rate_limited", "too many failed logins; try again later")
		return
	}
	u, err := s.cfg.Auth.Authenticate(ctx, req.Username, req.Password)
	if errors.Is(err, auth.ErrBadCredentials) {
		// The username may be mistyped PHI-free text; it is not PHI. When
		// the row cannot be written the answer stays 401: the login failed
		// either way, and a 500 would tell a guesser which attempts were
		// wrong passwords. The failure is logged (no username: it may be a
		// password typed in the wrong field) so operators see the gap.
		if err := s.cfg.Audit.Append(ctx, audit.Entry{Actor: req.Username, Action: "auth.login_failed", RemoteAddr: ip}); err != nil {
			s.log.Error("audit of a failed login not written", "err", err)
		}
		WriteError(c, http.StatusUnauthorized, "bad_credentials", "unknown user or wrong password")
		return
	}
	if err != nil {
		s.internalError(c, err)
		return
	}
	if err := s.cfg.Auth.LoginSucceeded(ctx, []string{userKey}, []string{ipKey}, loginWindow); err != nil {
		s.log.Warn("login throttle not cleared", "err", err)
	}
	id, sess, err := s.cfg.Auth.CreateSession(ctx, u, s.cfg.SessionIdle, ip)
	if err != nil {
		s.internalError(c, err)
		return
	}
	if err := s.cfg.Audit.Append(ctx, audit.Entry{Actor: u.Username, Action: "auth.login", RemoteAddr: ip}); err != nil {
		s.internalError(c, err)
		return
	}
	// The cookie may live as long as a session can (SessionMax); the
	// server ends the session earlier after SessionIdle without use.
	s.setCookie(c, id, int(s.cfg.SessionMax/time.Second))
	c.JSON(http.StatusOK, sessionResponse{User: u, CSRFToken: sess.CSRFToken, ExpiresAt: &sess.ExpiresAt})
}

func (s *Server) logout(c *gin.Context) {
	if id, ok := c.Get(ctxSession); ok {
		if err := s.cfg.Auth.DeleteSession(c.Request.Context(), id.(string)); err != nil {
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
		sess, err := s.cfg.Auth.SessionByID(c.Request.Context(), id.(string), 0, s.cfg.SessionMax)
		if err == nil {
			resp.CSRFToken = sess.CSRFToken
			resp.ExpiresAt = &sess.ExpiresAt
		}
	}
	c.JSON(http.StatusOK, resp)
}

// session: GET /api/v1/auth/session (public) answers 200 whether or not
// the browser has a live session, so that the login page's check does not
// log a 401 in the console.
func (s *Server) session(c *gin.Context) {
	id, err := c.Cookie(SessionCookie)
	if err != nil || id == "" {
		c.JSON(http.StatusOK, gin.H{"authenticated": false})
		return
	}
	sess, err := s.cfg.Auth.SessionByID(c.Request.Context(), id, s.cfg.SessionIdle, s.cfg.SessionMax)
	if errors.Is(err, auth.ErrNoSession) {
		s.clearCookie(c)
		c.JSON(http.StatusOK, gin.H{"authenticated": false})
		return
	}
	if err != nil {
		s.internalError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"authenticated": true, "user": sess.User, "csrf_token": sess.CSRFToken, "expires_at": sess.ExpiresAt})
}

// Login throttle: failed logins per username and address (5 per 15
// minutes) and per address (30 per 15 minutes), counted in Postgres
// (drafts.ReserveLoginAttempt), so that every API node shares them.
const (
	loginWindow  = 15 * time.Minute
	loginPerUser = 5
	loginPerIP   = 30
)

// loginKeys are the throttle keys of a login; the username is hashed (a
// password typed into the username field is not stored in clear).
func loginKeys(username, ip string) (userKey, ipKey string) {
	h := sha256.Sum256([]byte(strings.ToLower(username)))
	return "u:" + hex.EncodeToString(h[:16]) + "|" + ip, "ip:" + ip
}
