package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/riverqueue/river"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/server"
	"github.com/radraft/radraft/workflow"
)

// inferencePart is the inference worker: on nodes that run the model (role
// all or worker) it loads the bundle once, validates it, and registers the
// draft_study worker of the inference queue (one at a time), which the jobs
// part runs. The model stays loaded until the process ends: River drains
// in-flight drafts when the jobs part stops.
func inferencePart() part {
	return part{
		name:    "inference",
		enabled: func(c *config) bool { return c.runsWorker() },
		prepare: prepareInference,
	}
}

// modelLoaded is set once prepareInference has loaded the model (read by
// /readyz from the listener goroutines, hence atomic).
var modelLoaded atomic.Bool

// inferenceReady is the model's part of readiness (/readyz): nil on a node
// without the worker role or once the model is loaded, else why not (a
// model that fails to load ends the process at start, so the reason seen
// here is that it is still loading: server.ErrModelLoading, with which
// model on which device for the log).
func inferenceReady(cfg *config) error {
	if !cfg.runsWorker() || modelLoaded.Load() {
		return nil
	}
	return fmt.Errorf("%w: %s on %s", server.ErrModelLoading, cfg.ModelDir, cfg.Device)
}

func prepareInference(ctx context.Context, d *deps) error {
	m, err := openModel(ctx, d.cfg.ModelDir, d.cfg.ORTLib, d.cfg.Device)
	if err != nil {
		return err
	}
	pipe, err := newPipeline(m)
	if err != nil {
		m.Close()
		return err
	}
	store := d.store
	w := &workflow.DraftWorker{
		Store:      store,
		Drafter:    pipe,
		Indication: storeIndication(store),
		StorageDir: d.cfg.StorageDir,
		OrderWait:  d.cfg.OrderWait,
		JobTimeout: d.cfg.DraftTimeout,
	}
	if err := river.AddWorkerSafely(d.workers, w); err != nil {
		m.Close()
		return fmt.Errorf("draft worker: %w", err)
	}
	d.queues[drafts.QueueInference] = river.QueueConfig{MaxWorkers: 1}
	info := m.Info()
	d.model = &info
	modelLoaded.Store(true)
	attrs := []any{"model", info.Name, "version", info.Version, "device", info.Device, "onnxruntime", info.Runtime, "load_ms", info.LoadMillis}
	if info.Demo {
		attrs = append(attrs, "notice", "DEMO MODEL: its drafts are meaningless")
	}
	slog.Info("model loaded", attrs...)
	return nil
}

// storeIndication gives the worker the study's indication from the order
// (or the DICOM headers) and whether an order has arrived.
func storeIndication(s *drafts.Store) workflow.IndicationFunc {
	return func(ctx context.Context, studyUID string) (workflow.Indication, error) {
		si, err := s.IndicationForStudy(ctx, studyUID)
		if err != nil {
			return workflow.Indication{}, err
		}
		return workflow.Indication{Text: si.Text, Source: si.Source, HasOrder: si.OrderID != 0, OrderCancelled: si.OrderCancelled}, nil
	}
}
