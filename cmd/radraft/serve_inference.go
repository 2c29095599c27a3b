package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/riverqueue/river"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/inference"
	"github.com/radraft/radraft/workflow"
)

// The inference worker: on nodes that run the model (role all or worker) it
// loads the bundle once, validates it, and works the draft_study jobs of the
// inference queue, one at a time.
func init() {
	addComponent(component{
		name:    "inference",
		enabled: func(c *config) bool { return c.runsWorker() },
		prepare: prepareInference,
		start: func(ctx context.Context, d *deps) (func(context.Context) error, error) {
			// The model stays loaded until the process ends: River drains
			// in-flight drafts after the components stop.
			return nil, nil
		},
	})
}

// inferenceInfo is the loaded model, nil until (or unless) it loaded.
var inferenceInfo atomic.Pointer[inference.Info]

// inferenceReady reports the loaded model for readiness checks (/readyz):
// ok is false on a node that runs the worker before its model is loaded;
// a node without the worker role reports ok with a nil info.
func inferenceReady(cfg *config) (info *inference.Info, ok bool) {
	if !cfg.runsWorker() {
		return nil, true
	}
	i := inferenceInfo.Load()
	return i, i != nil
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
	inferenceInfo.Store(&info)
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
