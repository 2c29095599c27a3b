package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/radraft/radraft/internal/lifecycle"
	"github.com/radraft/radraft/server"
)

// healthPart is the health listener of a --role=worker node: /healthz and
// /readyz only (database, storage tree readable, model loaded), on
// --http-addr, for Kubernetes probes. It listens from its prepare, which
// runs before the model loads, so that readiness says "model loading"
// meanwhile instead of refusing connections; its service stops it.
func healthPart() part {
	var hs *http.Server
	return part{
		name:    "health",
		enabled: func(c *config) bool { return c.Role == "worker" && c.HTTPAddr != "" },
		prepare: func(_ context.Context, d *deps) error {
			var err error
			hs, err = startHealth(d)
			return err
		},
		service: func(context.Context, *deps) (lifecycle.Service, error) {
			return &lifecycle.Hooks{OnStop: func(ctx context.Context) error { return hs.Shutdown(ctx) }}, nil
		},
	}
}

func startHealth(d *deps) (*http.Server, error) {
	cfg := d.cfg
	h := server.HealthHandler(server.Config{Store: d.store, StorageDir: cfg.StorageDir, StorageReadOnly: true,
		Ready: func(context.Context) error { return inferenceReady(cfg) }})
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("health: listener stopped", "err", err)
		}
	}()
	slog.Info("health: listening", "addr", ln.Addr().String())
	return hs, nil
}
