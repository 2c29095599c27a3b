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
	"github.com/radraft/radraft/server"
)

// The HTTP listener: REST API under /api/v1, the review UI at /, /healthz,
// /readyz and /metrics; HTTPS when a certificate and key are configured.
// With --ris-addr it also runs the results outbox loop (ORU^R01 over MLLP).
func init() {
	addComponent(component{
		name:    "http",
		enabled: func(c *config) bool { return c.runsListeners() && c.HTTPAddr != "" },
		start:   startHTTP,
	})
}

func startHTTP(ctx context.Context, d *deps) (func(context.Context) error, error) {
	cfg := d.cfg
	srv, err := server.New(server.Config{
		Store:       d.store,
		Auth:        auth.New(d.store.DB()),
		Audit:       audit.New(d.store.DB()),
		StorageDir:  cfg.StorageDir,
		TLS:         cfg.TLSCert != "",
		ResultsOut:  cfg.RISAddr != "",
		SessionIdle: cfg.SessionIdle,
		SessionMax:  cfg.SessionMax,
		Collectors:  d.metrics,
		Ready: func(context.Context) error {
			if _, ok := inferenceReady(cfg); !ok {
				return errors.New("model not loaded")
			}
			return nil
		},
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
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, err
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	go func() {
		var err error
		if cfg.TLSCert != "" {
			err = hs.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			err = hs.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("http: listener stopped", "err", err)
		}
	}()
	slog.Info("http: listening", "addr", ln.Addr().String(), "tls", cfg.TLSCert != "")

	loopCtx, stopLoop := context.WithCancel(context.WithoutCancel(ctx))
	loopDone := make(chan struct{})
	if cfg.RISAddr != "" {
		loop := &server.ResultsLoop{Store: d.store, Send: server.MLLPSender(cfg.RISAddr, 30*time.Second), SendingApp: cfg.AETitle}
		go func() {
			defer close(loopDone)
			loop.Run(loopCtx) //nolint:errcheck
		}()
		slog.Info("results: sending signed reports to the RIS", "ris_addr", cfg.RISAddr)
	} else {
		close(loopDone)
	}
	return func(sctx context.Context) error {
		err := hs.Shutdown(sctx)
		stopLoop()
		select {
		case <-loopDone:
		case <-sctx.Done():
		}
		return err
	}, nil
}
