package main

import (
	"context"
	"errors"
	"image"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/radraft/radraft/audit"
	"github.com/radraft/radraft/auth"
	"github.com/radraft/radraft/dicom/pixels"
	"github.com/radraft/radraft/dicomweb"
	"github.com/radraft/radraft/internal/lifecycle"
	"github.com/radraft/radraft/qa"
	"github.com/radraft/radraft/server"
)

// httpPart is the HTTP listener: REST API under /api/v1, the review UI at
// /, /healthz, /readyz and /metrics; HTTPS when a certificate and key are
// configured.
func httpPart() part {
	return part{
		name:    "http",
		enabled: func(c *config) bool { return c.runsListeners() && c.HTTPAddr != "" },
		service: httpService,
	}
}

// resultsPart is the results outbox loop (ORU^R01 over MLLP to
// --ris-addr) on listener nodes.
func resultsPart() part {
	return part{
		name:    "results",
		enabled: func(c *config) bool { return c.runsListeners() && c.RISAddr != "" },
		service: func(_ context.Context, d *deps) (lifecycle.Service, error) {
			loop := &server.ResultsLoop{Store: d.store, Send: server.MLLPSender(d.cfg.RISAddr, 30*time.Second), SendingApp: d.cfg.AETitle}
			slog.Info("results: sending signed reports to the RIS", "ris_addr", d.cfg.RISAddr)
			return lifecycle.Loop(func(ctx context.Context) { loop.Run(ctx) }), nil //nolint:errcheck // Run logs its errors
		},
	}
}

func httpService(_ context.Context, d *deps) (lifecycle.Service, error) {
	cfg := d.cfg
	srv, err := server.New(server.Config{
		Store:       d.store,
		Auth:        auth.New(d.store.DB()),
		QA:          qa.New(d.store.DB()),
		Audit:       audit.New(d.store.DB()),
		StorageDir:  cfg.StorageDir,
		TLS:         cfg.TLSCert != "",
		ResultsOut:  cfg.RISAddr != "",
		SessionIdle: cfg.SessionIdle,
		SessionMax:  cfg.SessionMax,
		Collectors:  d.metrics,
		Ready:       func(context.Context) error { return inferenceReady(cfg) },
		DICOMweb: func(m server.DICOMwebMount) {
			svc := &dicomweb.Service{Store: d.store, StorageDir: cfg.StorageDir}
			if d.ingest != nil {
				svc.Ingest = d.ingest
			}
			svc.Routes(dicomweb.Mount{Group: m.Group, Read: m.Read, Write: m.Write, Audit: m.Audit, Actor: m.Actor})
		},
		Render: func(_ context.Context, path string, o server.RenderOptions) (image.Image, error) {
			return pixels.RenderFile(path, pixels.RenderOptions{WindowCenter: o.Center, WindowWidth: o.Width,
				Invert: o.Invert, MaxSize: o.MaxSize})
		},
	})
	if err != nil {
		return nil, err
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	return lifecycle.Listen("http", cfg.HTTPAddr, func(ln net.Listener) error {
		slog.Info("http: listening", "addr", ln.Addr().String(), "tls", cfg.TLSCert != "")
		var err error
		if cfg.TLSCert != "" {
			err = hs.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			err = hs.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}, hs.Shutdown), nil
}
