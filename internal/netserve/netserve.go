// Package netserve is what radraft's TCP listeners share (the DICOM SCP in
// dicom/scp, the MLLP server in hl7): the accept loop, the set of live
// connections, the graceful drain and the forced close once the drain
// deadline passes. Each protocol keeps its own admission rules (pending
// associations, idle eviction) and what a connection does; a Tracker only
// knows a connection as a Conn it can interrupt or drop.
//
// The HTTP server is not here: net/http's Server already owns the same
// three steps for its connections (Shutdown), and radraft uses it as is.
package netserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrServerClosed is returned by Serve once Shutdown began.
var ErrServerClosed = errors.New("server closed")

// Conn is a live connection as the Tracker sees it.
type Conn interface {
	// Interrupt asks the connection to end after the work in flight
	// (a C-STORE, an HL7 message and its ACK): the graceful drain.
	Interrupt()
	// Drop ends it now: the drain deadline passed.
	Drop()
}

// Tracker runs accept loops and tracks the connections they start. The zero
// value is ready to use.
type Tracker struct {
	// Name prefixes the tracker's log lines ("dicom", "hl7").
	Name string
	Log  *slog.Logger

	closing atomic.Bool
	mu      sync.Mutex
	lns     []net.Listener
	open    map[Conn]struct{}
	wg      sync.WaitGroup
}

func (t *Tracker) log() *slog.Logger {
	if t.Log != nil {
		return t.Log
	}
	return slog.Default()
}

// Serve accepts connections on ln until Shutdown, handing each to accept,
// which must not block (it starts the connection with Go). A failing
// Accept (too many open files, a reset before accept) is logged and
// retried with a backoff up to a second: the listener outlives it. Serve
// returns ErrServerClosed after Shutdown (or at once, closing ln, if
// Shutdown came first), or the error of a listener closed by someone else.
func (t *Tracker) Serve(ln net.Listener, accept func(net.Conn)) error {
	t.mu.Lock()
	if t.closing.Load() {
		t.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	t.lns = append(t.lns, ln)
	t.mu.Unlock()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if t.closing.Load() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			backoff = min(max(backoff*2, 5*time.Millisecond), time.Second)
			t.log().Warn(t.Name+": accept", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if t.closing.Load() {
			c.Close()
			return ErrServerClosed
		}
		accept(c)
	}
}

// Go runs serve for c in its own goroutine, tracked until serve returns.
// After Shutdown began it drops c instead and returns false.
func (t *Tracker) Go(c Conn, serve func()) bool {
	t.mu.Lock()
	if t.closing.Load() {
		t.mu.Unlock()
		c.Drop()
		return false
	}
	if t.open == nil {
		t.open = map[Conn]struct{}{}
	}
	t.open[c] = struct{}{}
	t.wg.Add(1)
	t.mu.Unlock()
	go func() {
		defer func() {
			t.mu.Lock()
			delete(t.open, c)
			t.mu.Unlock()
			t.wg.Done()
		}()
		serve()
	}()
	return true
}

// Closing reports whether Shutdown began: a connection between two units
// of work ends instead of waiting for the next.
func (t *Tracker) Closing() bool { return t.closing.Load() }

// Addr is the address of the first listener Serve was given, nil before.
func (t *Tracker) Addr() net.Addr {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lns) == 0 {
		return nil
	}
	return t.lns[0].Addr()
}

// Shutdown closes the listeners, interrupts every connection and waits for
// them to finish their work in flight. When ctx ends first it drops them,
// waits for their goroutines to return (a dropped socket fails their next
// read or write) and returns ctx's error. Safe to call more than once.
func (t *Tracker) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	t.closing.Store(true)
	for _, ln := range t.lns {
		ln.Close()
	}
	for c := range t.open {
		c.Interrupt()
	}
	t.mu.Unlock()
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		t.mu.Lock()
		for c := range t.open {
			c.Drop()
		}
		t.mu.Unlock()
		<-done
		return fmt.Errorf("shutdown: connections dropped at the deadline: %w", ctx.Err())
	}
}
