package workflow_test

import (
	"context"
	"fmt"
	"image"
	"os"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/inference"
	"github.com/radraft/radraft/workflow"
)

type fixedPrompt struct{}

func (fixedPrompt) Encode(ind string) (string, []int64, []int64, error) {
	return "USER: <image>\n" + ind + " ASSISTANT:", []int64{1, 5, 9, 11, 3}, []int64{17, 23, 8}, nil
}

// A draft_study job run by a real River client on the tiny model: the
// pipeline decodes, preprocesses, generates and the report appears.
func TestWorkerUnderRiver(t *testing.T) {
	lib := os.Getenv("RADRAFT_ORT_LIB")
	if lib == "" {
		t.Fatal("RADRAFT_ORT_LIB is not set")
	}
	if _, err := inference.InitRuntime(lib); err != nil {
		t.Fatal(err)
	}
	m, err := inference.Load("../inference/testdata/tiny", inference.DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := draftstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	seed(t, s, "2.1", true, time.Hour)

	pipe := &inference.Pipeline{
		Model: m,
		DecodePixels: func(path string) (*image.Gray, error) {
			g := image.NewGray(image.Rect(0, 0, 40, 50))
			for i := range g.Pix {
				g.Pix[i] = uint8(i)
			}
			return g, nil
		},
		Prompt:     fixedPrompt{},
		Detokenize: func(ids []int64) string { return fmt.Sprint(ids) },
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &workflow.DraftWorker{Store: s, Drafter: pipe, StorageDir: "/data", OrderWait: time.Minute,
		Indication: func(ctx context.Context, uid string) (workflow.Indication, error) {
			return workflow.Indication{}, nil
		}})
	rc, err := river.NewClient(s.RiverDriver(), &river.Config{Workers: workers,
		Queues: map[string]river.QueueConfig{drafts.QueueInference: {MaxWorkers: 1}}, FetchPollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer rc.Stop(context.Background()) //nolint:errcheck
	if _, err := s.River.Insert(ctx, drafts.DraftStudyArgs{StudyUID: "2.1", Reason: "settled"}, nil); err != nil {
		t.Fatal(err)
	}
	for {
		var findings, prompt string
		var tokens int
		err := s.DB().QueryRow(ctx, `SELECT v.findings, v.prompt, (v.timings->>'tokens')::int FROM reports r
			JOIN report_versions v ON v.report_id = r.id WHERE r.study_uid='2.1'`).Scan(&findings, &prompt, &tokens)
		if err == nil {
			if tokens == 0 || findings == "" || prompt == "" {
				t.Fatalf("draft %q %q %d", findings, prompt, tokens)
			}
			break
		}
		if ctx.Err() != nil {
			st, r := studyState(t, s, "2.1")
			t.Fatalf("no draft: study %s %q", st, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
