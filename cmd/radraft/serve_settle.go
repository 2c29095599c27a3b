package main

import (
	"context"
	"log/slog"

	"github.com/radraft/radraft/dicom/study"
)

// The study settler: studies quiet for --settle-quiet get their frontal image
// chosen and a draft_study job (or wait for a person's view decision). State
// lives in Postgres, so any number of listener nodes may run it.
func init() {
	addComponent(component{
		name:    "settle",
		enabled: func(c *config) bool { return c.runsListeners() },
		start: func(ctx context.Context, d *deps) (func(context.Context) error, error) {
			s := &study.Settler{Store: d.store, StorageDir: d.cfg.StorageDir, Quiet: d.cfg.SettleQuiet}
			slog.Info("settle: studies complete after a quiet period", "quiet", d.cfg.SettleQuiet)
			return s.Start(ctx), nil
		},
	})
}
