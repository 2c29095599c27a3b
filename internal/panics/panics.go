// Package panics turns a recovered panic into what may be logged and
// counted: a description that holds no processed data (so no PHI), the code
// location it came from, and the counter radraft_panics_recovered_total by
// component. Listeners (MLLP, HTTP) and River jobs recover with it, so that a
// bug costs one message, request or job attempt, never the process.
package panics

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Recovered counts recovered panics by component ("hl7", "http", "job:KIND").
// It is registered by the HTTP server's metrics registry.
var Recovered = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "radraft_panics_recovered_total",
	Help: "Panics recovered (each cost one message, request or job attempt), by component.",
}, []string{"component"})

// Describe says what a recovered value was without its data: the runtime's
// own errors (nil dereference, index out of range) hold no data and are
// given in full; any other value only by its Go type, since its text may
// hold what was being processed.
func Describe(r any) string {
	if re, ok := r.(runtime.Error); ok {
		return re.Error()
	}
	return fmt.Sprintf("panic value of type %T", r)
}

// Frames is the stack of the panicking goroutine from the frame that
// panicked outwards (function and line; no argument values), when called
// from the deferred function that recovered.
func Frames(max int) []string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(1, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var out []string
	afterPanic := false
	for {
		f, more := frames.Next()
		if afterPanic && !strings.HasPrefix(f.Function, "runtime.") {
			out = append(out, fmt.Sprintf("%s:%d", f.Function, f.Line))
			if len(out) == max {
				break
			}
		}
		if f.Function == "runtime.gopanic" || f.Function == "runtime.panicmem" || f.Function == "runtime.sigpanic" {
			afterPanic = true
		}
		if !more {
			break
		}
	}
	return out
}

// Record logs a recovered panic at error level (description and stack, no
// data) with attrs, counts it for component, and returns the description
// with the frame that panicked, for an error text or a NAK.
func Record(log *slog.Logger, component string, r any, attrs ...any) string {
	Recovered.WithLabelValues(component).Inc()
	what := Describe(r)
	frames := Frames(12)
	log.Error("panic recovered: "+component+" continues", append(attrs, "panic", what, "stack", strings.Join(frames, " < "))...)
	if len(frames) > 0 {
		what += " in " + frames[0]
	}
	return what
}

// JobMiddleware recovers a panic of any River worker: it logs and counts it
// (component "job:<kind>") and fails only that attempt with an ordinary
// error, so that River retries the job with backoff (and discards it after
// its last attempt). River's own recovery would log the panic value itself.
type JobMiddleware struct {
	river.MiddlewareDefaults
	Log *slog.Logger
}

// Work implements rivertype.WorkerMiddleware.
func (m *JobMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log := m.Log
			if log == nil {
				log = slog.Default()
			}
			what := Record(log, "job:"+job.Kind, r, "job", job.ID, "attempt", job.Attempt)
			err = fmt.Errorf("worker panicked: %s", what)
		}
	}()
	return doInner(ctx)
}
