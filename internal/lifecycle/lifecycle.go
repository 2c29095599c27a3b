// Package lifecycle owns how radraft's long-running parts start and stop:
// the listeners (DICOM, MLLP, HTTP), the polling loops (settler, results
// outbox, SR outbox) and the River job workers all implement Service, and
// `radraft serve` runs them as one ordered Group.
//
// Why Start/Stop and not a single Run(ctx): a listener must report a bind
// error before the next part starts (the HTTP server lends STOW-RS the DICOM
// listener, so the order matters and a failure must stop the sequence), and
// stopping is not cancelling: Stop's context is the drain deadline (finish
// the C-STORE or ORM in flight, then force), separate from the signal that
// ended the process. Run(ctx) would fold both into one context. The same
// shape as River's startstop.Service.
//
// The guarantees, implemented once (Hooks) and tested once here:
//   - Stop is idempotent: a second Stop returns at once with nil;
//   - Stop before Start is a no-op, and Start after Stop is refused
//     (ErrStopped), so a part can never run after shutdown began;
//   - a Stop whose deadline expires before the part drained returns an
//     error wrapping context.DeadlineExceeded (the caller logs it).
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Service is one long-running part.
type Service interface {
	// Start starts the part and returns once it runs (a listener is
	// bound). ctx carries values and the start deadline; a part must not
	// tie its life to it (Stop ends it).
	Start(ctx context.Context) error
	// Stop stops the part, draining work in flight until ctx ends, then
	// forcing. Idempotent; safe before Start.
	Stop(ctx context.Context) error
}

// ErrStopped is returned by Start after Stop.
var ErrStopped = errors.New("lifecycle: stopped")

// ErrStarted is returned by a second Start.
var ErrStarted = errors.New("lifecycle: already started")

type state int

const (
	idle state = iota
	running
	stopped
)

// Hooks is a Service made of two functions, with the package's guarantees
// around them: OnStart runs at most once, OnStop at most once and only after
// a successful OnStart.
type Hooks struct {
	OnStart func(ctx context.Context) error
	OnStop  func(ctx context.Context) error

	mu    sync.Mutex
	state state
}

// Start runs OnStart once.
func (h *Hooks) Start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch h.state {
	case running:
		return ErrStarted
	case stopped:
		return ErrStopped
	}
	if h.OnStart != nil {
		if err := h.OnStart(ctx); err != nil {
			return err
		}
	}
	h.state = running
	return nil
}

// Stop runs OnStop once, if Start succeeded.
func (h *Hooks) Stop(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	was := h.state
	h.state = stopped
	if was != running || h.OnStop == nil {
		return nil
	}
	return h.OnStop(ctx)
}

// Loop is a Service that runs a function in its own goroutine from Start
// until Stop: the polling loops (settler, outboxes). Run must return soon
// after its context ends; Stop cancels it and waits until it returned or
// the deadline passed.
func Loop(run func(ctx context.Context)) Service {
	var cancel context.CancelFunc
	done := make(chan struct{})
	return &Hooks{
		OnStart: func(ctx context.Context) error {
			// The loop outlives the start context; Stop ends it.
			var lctx context.Context
			lctx, cancel = context.WithCancel(context.WithoutCancel(ctx))
			go func() {
				defer close(done)
				run(lctx)
			}()
			return nil
		},
		OnStop: func(ctx context.Context) error {
			cancel()
			return Wait(ctx, done)
		},
	}
}

// Wait waits for done to close, or reports that ctx ended first.
func Wait(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("not drained before the deadline: %w", ctx.Err())
	}
}

// Named is a Service with the name logs and errors give it.
type Named struct {
	Name string
	Service
}

// Group starts services in order and stops them in reverse order, so a part
// stops before the parts it uses.
type Group struct {
	mu      sync.Mutex
	started []Named
	// OnStarted (optional) is told of each service once it runs.
	OnStarted func(name string)
}

// Start starts each service in turn and returns the first failure, named,
// leaving the services already started running: the caller stops them with
// Stop, under the drain deadline it chooses (a Start has none).
func (g *Group) Start(ctx context.Context, services ...Named) error {
	for _, s := range services {
		if err := s.Start(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		g.mu.Lock()
		g.started = append(g.started, s)
		g.mu.Unlock()
		if g.OnStarted != nil {
			g.OnStarted(s.Name)
		}
	}
	return nil
}

// Stop stops the started services in reverse order, all under ctx's
// deadline, and joins their errors, each named. Idempotent.
func (g *Group) Stop(ctx context.Context) error {
	g.mu.Lock()
	started := g.started
	g.started = nil
	g.mu.Unlock()
	var errs []error
	for i := len(started) - 1; i >= 0; i-- {
		if err := started[i].Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", started[i].Name, err))
		}
	}
	return errors.Join(errs...)
}
