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
	"github.com/riverqueue/river/rivertype"

	"github.com/radraft/radraft/dicom/scp"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/inference"
	"github.com/radraft/radraft/internal/lifecycle"
	"github.com/radraft/radraft/internal/panics"
)

// deps is what the parts of serve share.
type deps struct {
	cfg   *config
	store *drafts.Store
	// workers collects the River workers the parts register in prepare;
	// the jobs part starts one River client for them.
	workers *river.Workers
	queues  map[string]river.QueueConfig
	// metrics are collectors parts add as they start, for /metrics (the
	// http part starts after the listeners and serves them).
	metrics []prometheus.Collector
	// ingest is the DICOM listener, set when it runs on this node: STOW-RS
	// stores through it (one writer per storage tree).
	ingest *scp.Server
	// model is the loaded model, nil on a node without the worker role.
	model *inference.Info
}

// part is one part of `serve` (a listener, a loop, the job workers).
type part struct {
	name string
	// enabled says whether this node's configuration runs it.
	enabled func(*config) bool
	// prepare (optional) runs before any part starts: it registers River
	// workers and sets what the store must know before work arrives.
	prepare func(ctx context.Context, d *deps) error
	// service (optional) builds the part's lifecycle.Service just before
	// it starts, so it sees what the parts before it set in deps.
	service func(ctx context.Context, d *deps) (lifecycle.Service, error)
}

// parts is every part of `serve`, in start order; they stop in reverse.
// The order, and why:
//
//  0. health (worker nodes): listens from its prepare, before the model
//     loads, so that /readyz says "model loading" meanwhile.
//  1. inference, evaluation, sr-config: prepare only (load the model,
//     register the job workers, tell the store where SRs go), before
//     anything can queue work.
//  2. jobs: the River client works the registered queues. Started first
//     among the services so that it stops last: jobs in flight drain after
//     every listener stopped feeding them.
//  3. dicom, hl7: the listeners receiving studies and orders. dicom before
//     http, which lends it to STOW-RS.
//  4. settle, sr, results: the loops turning received data into jobs and
//     sent results.
//  5. http last: /readyz answers only once everything it reports on runs,
//     and on stop it goes first, so no report is signed while the results
//     loops stop.
func parts() []part {
	return []part{
		healthPart(),
		inferencePart(),
		evaluationPart(),
		srConfigPart(),
		jobsPart(),
		dicomPart(),
		hl7Part(),
		settlePart(),
		srLoopPart(),
		resultsPart(),
		httpPart(),
	}
}

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
	var active []part
	for _, p := range parts() {
		if p.enabled(cfg) {
			active = append(active, p)
		}
	}
	for _, p := range active {
		if p.prepare != nil {
			if err := p.prepare(ctx, d); err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
		}
	}

	group := &lifecycle.Group{OnStarted: func(name string) { slog.Info("started", "part", name) }}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := group.Stop(sctx); err != nil {
			slog.Error("shutdown", "err", err)
		}
	}()
	for _, p := range active {
		if p.service == nil {
			continue
		}
		svc, err := p.service(ctx, d)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		if err := group.Start(ctx, lifecycle.Named{Name: p.name, Service: svc}); err != nil {
			return err
		}
	}
	slog.Info("radraft serving", "role", cfg.Role, "parts", len(active))
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

// jobsPart is the River client of this node, under its stable node ID.
// Holding the node ID's lock proves that no other live process uses it, so
// the jobs this ID was running are orphans of an earlier process (killed,
// crashed): they are made available again at once, instead of after
// --job-rescue-after, which River's rescuer applies to every node's jobs.
func jobsPart() part {
	return part{
		name:    "jobs",
		enabled: func(c *config) bool { return c.runsListeners() || c.runsWorker() },
		service: func(_ context.Context, d *deps) (lifecycle.Service, error) {
			var stop func(context.Context) error
			return &lifecycle.Hooks{
				OnStart: func(ctx context.Context) (err error) {
					stop, err = startJobs(ctx, d)
					return err
				},
				OnStop: func(ctx context.Context) error { return stop(ctx) },
			}, nil
		},
	}
}

// startJobs claims the node ID, rescues its orphans and starts River.
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
	rc, err := river.NewClient(d.store.RiverDriver(), &river.Config{
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
