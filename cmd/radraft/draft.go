package main

import (
	"context"
	"errors"

	"github.com/radraft/radraft/inference"
)

// newPipeline joins a loaded model to the pixel decoder, the prompt and the
// tokenizer.
func newPipeline(m *inference.Model) (*inference.Pipeline, error) {
	_ = context.Background
	return nil, errors.New("drafting pipeline not wired yet (waiting for dicom/pixels, inference/tokenizer, inference/prompt)")
}
