package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/radraft/radraft/dicom/scp"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/internal/panics"
)

func init() {
	register("serve", "run the DICOM, HL7 and HTTP listeners and the workers", runServe)
}

// deps is what components share.
type deps struct {
	cfg   *config
	store *drafts.Store
	// workers collects the River workers components register in prepare;
	// serve starts one River client for them after every prepare ran.
	workers *river.Workers
	queues  map[string]river.QueueConfig
	// metrics are collectors components add in start, for /metrics (the
	// http component starts after the listeners and serves them).
	metrics []prometheus.Collector
	// ingest is the DICOM listener, set when it runs on this node: STOW-RS
	// stores through it (one writer per storage tree).
	ingest *scp.Server
}

// component is one part of `serve` (a listener, a worker). Each lives in its
// own file of this package and adds itself with addComponent in init.
type component struct {
	name string
	// enabled says whether this node's configuration runs it.
	enabled func(*config) bool
	// prepare (optional) registers River workers before the client starts.
	prepare func(ctx context.Context, d *deps) error
	// start starts it and returns how to stop it gracefully.
	start func(ctx context.Context, d *deps) (stop func(context.Context) error, err error)
}

var components []component

func addComponent(c component) { components = append(components, c) }

const shutdownGrace = 30 * time.Second

func runServe(ctx context.Context, args []string) error {
	cfg := &config{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.bind(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.StorageDir, 0o750); err != nil {
		return fmt.Errorf("storage dir: %w", err)
	}
	store, err := drafts.Open(ctx, cfg.DatabaseURL, true)
	if err != nil {
		return err
	}
	defer store.Close()

	d := &deps{cfg: cfg, store: store, workers: river.NewWorkers(), queues: map[string]river.QueueConfig{}}
	var active []component
	for _, c := range components {
		if c.enabled == nil || c.enabled(cfg) {
			active = append(active, c)
		}
	}
	for _, c := range active {
		if c.prepare != nil {
			if err := c.prepare(ctx, d); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
		}
	}

	var stops []func(context.Context) error
	var names []string
	shutdown := func() {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		for i := len(stops) - 1; i >= 0; i-- {
			if err := stops[i](sctx); err != nil {
				slog.Error("shutdown", "component", names[i], "err", err)
			}
		}
	}
	defer shutdown()

	if len(d.queues) > 0 {
		stop, err := startJobs(ctx, d)
		if err != nil {
			return fmt.Errorf("job workers: %w", err)
		}
		stops = append(stops, stop)
		names = append(names, "jobs")
	}
	for _, c := range active {
		stop, err := c.start(ctx, d)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		if stop != nil {
			stops = append(stops, stop)
			names = append(names, c.name)
		}
		slog.Info("started", "component", c.name)
	}
	slog.Info("radraft serving", "role", cfg.Role, "components", len(active))
	<-ctx.Done()
	slog.Info("shutting down: no new work accepted, finishing what is in flight", "grace", shutdownGrace)
	return ignoreCanceled(ctx.Err())
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// startJobs starts the River client of this node under its stable node ID.
// Holding the node ID's lock proves that no other live process uses it, so
// the jobs this ID was running are orphans of an earlier process (killed,
// crashed): they are made available again at once, instead of after
// --job-rescue-after, which River's rescuer applies to every node's jobs.
func startJobs(ctx context.Context, d *deps) (stop func(context.Context) error, err error) {
	release, err := d.store.ClaimNodeID(ctx, d.cfg.NodeID, 15*time.Second)
	if err != nil {
		return nil, err
	}
	rescued, err := d.store.RescueOrphanedJobs(ctx, d.cfg.NodeID)
	if err != nil {
		release()
		return nil, err
	}
	for _, j := range rescued {
		slog.Warn("jobs: an attempt of this node's previous process did not finish; rescued",
			"job", j.ID, "kind", j.Kind, "attempt", j.Attempt, "state", j.State)
	}
	rc, err := river.NewClient(riverpgxv5.New(d.store.Pool), &river.Config{
		ID:                   d.cfg.NodeID,
		Workers:              d.workers,
		Queues:               d.queues,
		RescueStuckJobsAfter: d.cfg.JobRescueAfter,
		// A worker's panic fails that attempt only, logged without data.
		Middleware: []rivertype.Middleware{&panics.JobMiddleware{}},
	})
	if err != nil {
		release()
		return nil, err
	}
	// Jobs must not be hard-cancelled by the signal: rc.Stop drains them.
	if err := rc.Start(context.WithoutCancel(ctx)); err != nil {
		release()
		return nil, err
	}
	slog.Info("jobs: started", "node_id", d.cfg.NodeID, "rescue_after", d.cfg.JobRescueAfter, "rescued", len(rescued))
	return func(sctx context.Context) error {
		defer release()
		return rc.Stop(sctx)
	}, nil
}
