package main

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/radraft/radraft/dicom/scu"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/srout"
)

// DICOM SR results: with --sr-destinations, signing or amending a report
// (and, with --sr-drafts, storing an AI draft) queues one outbox row per
// destination in the same transaction; listener nodes run the loop that
// builds each SR and C-STOREs it (package srout).
func init() {
	addComponent(component{
		name:    "sr",
		enabled: func(c *config) bool { return c.SRDestinations != "" },
		prepare: func(_ context.Context, d *deps) error {
			dests, _ := scu.ParseDestinations(d.cfg.SRDestinations) // validated at start
			withDrafts, _ := strconv.ParseBool(d.cfg.SRDrafts)
			d.store.SR = drafts.SROutbox{Drafts: withDrafts}
			for _, x := range dests {
				d.store.SR.Destinations = append(d.store.SR.Destinations, x.String())
			}
			return nil
		},
		start: func(ctx context.Context, d *deps) (func(context.Context) error, error) {
			if !d.cfg.runsListeners() {
				return func(context.Context) error { return nil }, nil
			}
			loop := &srout.Loop{Store: d.store, Client: &scu.Client{CallingAE: d.cfg.AETitle, Timeout: time.Minute}}
			loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
			done := make(chan struct{})
			go func() { defer close(done); loop.Run(loopCtx) }()
			slog.Info("sr: sending signed reports as DICOM SR", "destinations", d.store.SR.Destinations, "ai_drafts", d.store.SR.Drafts)
			return func(sctx context.Context) error {
				stop()
				select {
				case <-done:
				case <-sctx.Done():
				}
				return nil
			}, nil
		},
	})
}
