package main

import (
	"context"
	"log/slog"

	"github.com/radraft/radraft/dicom/study"
	"github.com/radraft/radraft/internal/lifecycle"
)

// settlePart is the study settler: studies quiet for --settle-quiet get
// their frontal image chosen and a draft_study job (or wait for a person's
// view decision). State lives in Postgres, so any number of listener nodes
// may run it.
func settlePart() part {
	return part{
		name:    "settle",
		enabled: func(c *config) bool { return c.runsListeners() },
		service: func(_ context.Context, d *deps) (lifecycle.Service, error) {
			s := &study.Settler{Store: d.store, StorageDir: d.cfg.StorageDir, Quiet: d.cfg.SettleQuiet}
			slog.Info("settle: studies complete after a quiet period", "quiet", d.cfg.SettleQuiet)
			return lifecycle.Loop(s.Run), nil
		},
	}
}
