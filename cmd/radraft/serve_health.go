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
	var l *lifecycle.Listener
	return part{
		name:    "health",
		enabled: func(c *config) bool { return c.Role == "worker" && c.HTTPAddr != "" },
		prepare: func(ctx context.Context, d *deps) error {
			l = healthListener(d)
			return l.Start(ctx)
		},
		service: func(context.Context, *deps) (lifecycle.Service, error) {
			// Started by prepare; the group only stops it.
			return &lifecycle.Hooks{OnStop: l.Stop}, nil
		},
	}
}

func healthListener(d *deps) *lifecycle.Listener {
	cfg := d.cfg
	h := server.HealthHandler(server.Config{Store: d.store, StorageDir: cfg.StorageDir, StorageReadOnly: true,
		Ready: func(context.Context) error { return inferenceReady(cfg) }})
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	return lifecycle.Listen("health", cfg.HTTPAddr, func(ln net.Listener) error {
		slog.Info("health: listening", "addr", ln.Addr().String())
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, hs.Shutdown)
}
