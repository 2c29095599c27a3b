package main

import (
	"errors"
	"testing"

	"github.com/radraft/radraft/server"
)

// /readyz's model check: a worker node is not ready ("model loading"; the
// log says which model on which device) until its model is loaded; an api
// node does not run the model and never waits for it.
func TestInferenceReadiness(t *testing.T) {
	worker := &config{Role: "worker", ModelDir: "/models/llava-rad", Device: "cuda:0"}
	modelLoaded.Store(false)
	err := inferenceReady(worker)
	if !errors.Is(err, server.ErrModelLoading) || err.Error() != "model loading: /models/llava-rad on cuda:0" {
		t.Fatalf("worker before load: %v", err)
	}
	if err := inferenceReady(&config{Role: "api"}); err != nil {
		t.Fatalf("api node: %v", err)
	}
	modelLoaded.Store(true)
	defer modelLoaded.Store(false)
	if err := inferenceReady(worker); err != nil {
		t.Fatalf("worker after load: %v", err)
	}
}
