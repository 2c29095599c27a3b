package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"
)

// ErrModelLoading is what Config.Ready wraps while the model is still being
// loaded: /readyz then says "model loading" rather than "model not loaded".
var ErrModelLoading = errors.New("model loading")

// healthz: the process answers (liveness).
func (s *Server) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

// readyz: the database answers, the storage dir is writable and (when the
// process runs the model) the model is loaded. 503 names what is not ready.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
	defer cancel()
	checks := gin.H{}
	ok := true
	// Anyone may read /readyz: it says what is not ready, never the error
	// itself (a DSN's user, database and host, a path); that goes to the log.
	check := func(name, failed string, err error) {
		if err != nil {
			ok = false
			checks[name] = failed
			s.log.Warn("not ready", "check", name, "err", err)
			return
		}
		checks[name] = "ok"
	}
	check("database", "database unreachable", s.cfg.Store.Ping(ctx))
	if s.cfg.StorageReadOnly {
		check("storage", "storage not readable", storageReadable(s.cfg.StorageDir))
	} else {
		check("storage", "storage not writable", storageWritable(s.cfg.StorageDir))
	}
	if s.cfg.Ready != nil {
		err := s.cfg.Ready(ctx)
		if errors.Is(err, ErrModelLoading) {
			check("model", "model loading", err)
		} else {
			check("model", "model not loaded", err)
		}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ok, "checks": checks})
}

func storageWritable(dir string) error {
	if dir == "" {
		return nil
	}
	f, err := os.CreateTemp(dir, ".readyz-*")
	if err != nil {
		return err
	}
	name := f.Name()
	_, err = f.Write([]byte("ok"))
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	os.Remove(name)
	return err
}

func storageReadable(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); err != nil && err != io.EOF {
		return err
	}
	return nil
}

// HealthHandler answers only /healthz and /readyz, with the checks of the
// full server, for a node that serves no API (--role=worker) but must be
// probed (Kubernetes liveness and readiness).
func HealthHandler(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	e := gin.New()
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	return e
}
