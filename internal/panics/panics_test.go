package panics

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river/rivertype"
)

const phi = "DOE^JOHN MRN12345"

//go:noinline
func panicWithPHI() { panic(errors.New("cannot store " + phi)) }

//go:noinline
func panicNil() {
	var m map[string]*int
	_ = *m["x"]
}

func recordOf(t *testing.T, component string, f func()) (desc, logged string) {
	t.Helper()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	func() {
		defer func() {
			if r := recover(); r != nil {
				desc = Record(log, component, r, "remote", "127.0.0.1:1")
			}
		}()
		f()
	}()
	return desc, buf.String()
}

func TestRecordKeepsDataOut(t *testing.T) {
	before := testutil.ToFloat64(Recovered.WithLabelValues("test"))
	desc, logged := recordOf(t, "test", panicWithPHI)
	if strings.Contains(logged, "DOE") || strings.Contains(desc, "DOE") {
		t.Fatalf("the panic's text was logged: %s", logged)
	}
	if !strings.Contains(desc, "*errors.errorString") || !strings.Contains(desc, "panics.panicWithPHI") {
		t.Errorf("description %q: want the value's type and the panicking function", desc)
	}
	if !strings.Contains(logged, "panics.TestRecordKeepsDataOut") {
		t.Errorf("the stack does not reach the caller: %s", logged)
	}
	if got := testutil.ToFloat64(Recovered.WithLabelValues("test")); got != before+1 {
		t.Errorf("counter %v, want %v", got, before+1)
	}
}

func TestRecordRuntimeErrorInFull(t *testing.T) {
	desc, _ := recordOf(t, "test", panicNil)
	if !strings.Contains(desc, "nil pointer dereference") || !strings.Contains(desc, "panics.panicNil") {
		t.Errorf("description %q", desc)
	}
}

func TestJobMiddlewareFailsTheAttempt(t *testing.T) {
	var buf bytes.Buffer
	m := &JobMiddleware{Log: slog.New(slog.NewTextHandler(&buf, nil))}
	job := &rivertype.JobRow{ID: 7, Kind: "draft_study", Attempt: 1}
	before := testutil.ToFloat64(Recovered.WithLabelValues("job:draft_study"))
	err := m.Work(context.Background(), job, func(context.Context) error { panicWithPHI(); return nil })
	if err == nil || strings.Contains(err.Error(), "DOE") || strings.Contains(buf.String(), "DOE") {
		t.Fatalf("err %v, log %s", err, buf.String())
	}
	if got := testutil.ToFloat64(Recovered.WithLabelValues("job:draft_study")); got != before+1 {
		t.Errorf("counter %v, want %v", got, before+1)
	}
	if err := m.Work(context.Background(), job, func(context.Context) error { return nil }); err != nil {
		t.Errorf("a job that does not panic: %v", err)
	}
}
