// Package server is radraft's HTTP API (gin) under /api/v1, the embedded
// review UI at /, health endpoints and Prometheus metrics.
//
// # Routes and extension
//
// Routes live in files of this package, one group per file as a method;
// New mounts the groups from one explicit list (no registration in init):
//
//	func (s *Server) qaRoutes(api *gin.RouterGroup) {
//		qa := api.Group("/qa", s.RequireRole(auth.RoleQALead))
//		qa.GET("/flags", s.listFlags)
//	}
//
// api is /api/v1 behind authentication (a session cookie with CSRF checks on
// writes, or a bearer API token); add s.RequireRole to every route. Every
// route must also be documented (openapi.json, or a fragment
// <part>_openapi.json next to it whose "paths", relative to /api/v1, are
// merged in) and have a row in the permission matrix of permissions_test.go
// (a test file may add rows with addExpectations from init):
// TestOpenAPICoversRoutes and TestPermissionMatrix enumerate
// Engine().Routes() and fail on a route missing from either.
//
// # Helpers for handlers
//
//   - s.RequireRole(roles...) — middleware: 403 unless the user has one of them.
//   - CurrentUser(c) — the authenticated auth.User.
//   - s.Audit(c, action, studyUID, objectRef, detail) — appends an audit row
//     (actor, remote address filled in); a handler showing PHI must audit
//     before answering and answer 500 when auditing fails.
//   - WriteError(c, status, code, message) — the JSON error shape
//     {"error":{"code","message"}}; never put PHI in the message.
//   - bindJSON(c, &v) — strict JSON body (unknown fields refused): 415 unless
//     Content-Type is application/json, 400 when it does not decode or holds
//     a NUL. Paths and queries with a NUL or invalid UTF-8 are refused (400)
//     before any handler runs.
//
// Logging: the access log records method, route template, status and
// duration only (no paths with parameters, no query strings: search text is
// PHI).
package server

import (
	"context"
	"errors"
	"image"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/radraft/radraft/audit"
	"github.com/radraft/radraft/auth"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/internal/panics"
	"github.com/radraft/radraft/qa"
)

// RenderOptions asks for a preview of an instance.
type RenderOptions struct {
	// Window centre and width; both 0 = the file's own VOI (or min-max).
	Center, Width float64
	// MaxSize bounds the longer side in pixels (0 = original size).
	MaxSize int
	// Invert flips grey levels after windowing.
	Invert bool
}

// Renderer turns a Part 10 file into an 8-bit display image.
type Renderer func(ctx context.Context, path string, o RenderOptions) (image.Image, error)

// Config is what the server needs from the process.
type Config struct {
	Store *drafts.Store
	// Auth keeps users, sessions and API tokens.
	Auth *auth.Store
	// QA keeps evaluations and QA flags.
	QA *qa.Store
	// Audit is the audit log every access and change is written to.
	Audit      *audit.Log
	StorageDir string
	// TLS: cookies are marked Secure (set when serving HTTPS, or behind a
	// TLS-terminating proxy).
	TLS bool
	// Ready reports whether the model is loaded (nil: not checked here, e.g.
	// on an api-only node).
	Ready func(ctx context.Context) error
	// ResultsOut: signing and amending write an outbox row for the RIS.
	ResultsOut bool
	// StorageReadOnly: this node only reads the storage tree (a worker,
	// which may mount it read-only), so readiness checks that it is
	// readable rather than writable.
	StorageReadOnly bool
	// Render draws previews; nil answers 501 on the preview route.
	Render Renderer
	// SessionIdle is how long a session lives without use (default 30 min).
	SessionIdle time.Duration
	// SessionMax is the longest a session lives after login, used or not
	// (default auth.DefaultSessionMax, 12 h); the cookie's Max-Age.
	SessionMax time.Duration
	// TrustedProxies may set X-Forwarded-For (CIDRs or IPs); none by
	// default, so the audit log records the TCP peer.
	TrustedProxies []string
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// Collectors are other components' metrics (the DICOM listener's),
	// served on /metrics with the server's own.
	Collectors []prometheus.Collector
	// DICOMweb (optional) registers the PS3.18 routes under /dicomweb.
	DICOMweb func(DICOMwebMount)
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	engine  *gin.Engine
	log     *slog.Logger
	metrics *metrics
	preview *previewCache
}

// New builds the server and its router.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: no store")
	}
	if cfg.Auth == nil {
		return nil, errors.New("server: no user store")
	}
	if cfg.QA == nil {
		return nil, errors.New("server: no QA store")
	}
	if cfg.Audit == nil {
		return nil, errors.New("server: no audit log")
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 30 * time.Minute
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = auth.DefaultSessionMax
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, preview: newPreviewCache(64 << 20)}
	s.metrics = newMetrics(cfg.Store, cfg.Collectors)
	// gin's debug mode prints every route and warns on stderr; it is
	// process-wide, so it is set here rather than in an init().
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	e.HandleMethodNotAllowed = true
	e.RemoveExtraSlash = true
	e.Use(s.recoverer, s.accessLog, securityHeaders, refuseBadText)
	e.NoRoute(s.noRoute)
	e.NoMethod(func(c *gin.Context) {
		WriteError(c, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed")
	})

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.authenticate, s.RequireRole(auth.RoleAdmin), s.metricsHandler)

	v1 := e.Group("/api/v1")
	v1.POST("/auth/login", s.login)
	v1.GET("/auth/session", s.session)
	// The API description is public: it holds no data, and a newcomer
	// reads in it how to log in.
	v1.GET("/openapi.json", s.openapi)
	api := v1.Group("", s.authenticate)
	api.POST("/auth/logout", s.logout)
	api.GET("/auth/me", s.me)
	for _, group := range []func(api *gin.RouterGroup){
		s.worklistRoutes, s.studyRoutes, s.orderRoutes, s.reportRoutes, s.qaRoutes, s.adminRoutes,
	} {
		group(api)
	}
	s.mountDICOMweb(e)
	s.engine = e
	return s, nil
}

// Handler is the root HTTP handler.
func (s *Server) Handler() http.Handler { return s.engine }

// Engine exposes the gin engine (tests enumerate its routes).
func (s *Server) Engine() *gin.Engine { return s.engine }

// Store is the domain store.
func (s *Server) Store() *drafts.Store { return s.cfg.Store }

// WriteError answers with the JSON error shape and aborts the chain.
func WriteError(c *gin.Context, status int, code, message string) {
	c.AbortWithStatusJSON(status, gin.H{"error": gin.H{"code": code, "message": message}})
}

// internalError logs err (which must not contain PHI) and answers 500.
func (s *Server) internalError(c *gin.Context, err error) {
	s.log.Error("request failed", "route", c.FullPath(), "method", c.Request.Method, "err", err)
	WriteError(c, http.StatusInternalServerError, "internal", "internal error")
}

// recoverer turns a handler's panic into a JSON 500; the log holds the
// panic's type and place only (see panics.Describe), never request data.
func (s *Server) recoverer(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			panics.Record(s.log, "http", r, "route", c.FullPath(), "method", c.Request.Method)
			if c.Writer.Written() {
				c.Abort() // too late for a status: the connection ends the answer
				return
			}
			WriteError(c, http.StatusInternalServerError, "internal", "internal error")
		}
	}()
	c.Next()
}

// accessLog logs without query strings or path parameters.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	d := time.Since(start)
	s.metrics.observeHTTP(c.Request.Method, route, c.Writer.Status(), d)
	if route == "/healthz" || route == "/readyz" || route == "/metrics" {
		return
	}
	s.log.Info("http", "method", c.Request.Method, "route", route, "status", c.Writer.Status(),
		"ms", d.Milliseconds(), "user", userNameOf(c))
}

func userNameOf(c *gin.Context) string {
	if u, ok := c.Get(ctxUser); ok {
		return u.(auth.User).Username
	}
	return ""
}

func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	if strings.HasPrefix(c.Request.URL.Path, "/api/") {
		h.Set("Cache-Control", "no-store")
	}
	// Bodies are small JSON documents; reports are a few KiB. DICOMweb's
	// STOW-RS streams instances to disk, as C-STORE does, uncapped.
	if c.Request.Body != nil && !strings.HasPrefix(c.Request.URL.Path, "/dicomweb/") {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 1<<20)
	}
	c.Next()
}

func (s *Server) noRoute(c *gin.Context) {
	p := c.Request.URL.Path
	if strings.HasPrefix(p, "/api/") || p == "/api" || p == "/dicomweb" || strings.HasPrefix(p, "/dicomweb/") {
		WriteError(c, http.StatusNotFound, "not_found", "no such route")
		return
	}
	s.serveUI(c)
}
