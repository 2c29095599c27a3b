package main

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/radraft/radraft/dicom/scu"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/internal/lifecycle"
	"github.com/radraft/radraft/srout"
)

// DICOM SR results: with --sr-destinations, signing or amending a report
// (and, with --sr-drafts, storing an AI draft) queues one outbox row per
// destination in the same transaction (srConfigPart tells the store, on
// every node that may sign or draft); listener nodes run the loop that
// builds each SR and C-STOREs it (srLoopPart, package srout).
func srConfigPart() part {
	return part{
		name:    "sr-config",
		enabled: func(c *config) bool { return c.SRDestinations != "" },
		prepare: func(_ context.Context, d *deps) error {
			dests, _ := scu.ParseDestinations(d.cfg.SRDestinations) // validated at start
			withDrafts, _ := strconv.ParseBool(d.cfg.SRDrafts)      // validated at start
			d.store.SR = drafts.SROutbox{Drafts: withDrafts}
			for _, x := range dests {
				d.store.SR.Destinations = append(d.store.SR.Destinations, x.String())
			}
			return nil
		},
	}
}

func srLoopPart() part {
	return part{
		name:    "sr",
		enabled: func(c *config) bool { return c.SRDestinations != "" && c.runsListeners() },
		service: func(_ context.Context, d *deps) (lifecycle.Service, error) {
			loop := &srout.Loop{Store: d.store, Client: &scu.Client{CallingAE: d.cfg.AETitle, Timeout: time.Minute}}
			slog.Info("sr: sending signed reports as DICOM SR", "destinations", d.store.SR.Destinations, "ai_drafts", d.store.SR.Drafts)
			return lifecycle.Loop(loop.Run), nil
		},
	}
}
