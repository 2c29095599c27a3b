package server

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"
)

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
	check("storage", "storage not writable", storageWritable(s.cfg.StorageDir))
	if s.cfg.Ready != nil {
		check("model", "model not loaded", s.cfg.Ready(ctx))
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
