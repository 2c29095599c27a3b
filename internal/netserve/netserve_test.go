package netserve

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// testConn ends its work when interrupted (if it honours interrupts) or
// when dropped; it records which happened.
type testConn struct {
	net.Conn
	honours     bool
	interrupted chan struct{}
	dropped     chan struct{}
	drops       atomic.Int32
}

func newTestConn(c net.Conn, honours bool) *testConn {
	return &testConn{Conn: c, honours: honours, interrupted: make(chan struct{}), dropped: make(chan struct{})}
}

func (c *testConn) Interrupt() {
	if c.honours {
		close(c.interrupted)
	}
}

func (c *testConn) Drop() {
	if c.drops.Add(1) == 1 {
		close(c.dropped)
	}
	c.Conn.Close()
}

func (c *testConn) serve(finished *atomic.Int32) {
	select {
	case <-c.interrupted:
	case <-c.dropped:
	}
	finished.Add(1)
}

// serveTracker starts t on a loopback listener; honours says whether its
// connections end when interrupted. It returns the address and Serve's result.
func serveTracker(t *testing.T, tr *Tracker, honours bool, finished *atomic.Int32, conns chan<- *testConn) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		served <- tr.Serve(ln, func(nc net.Conn) {
			c := newTestConn(nc, honours)
			tr.Go(c, func() { c.serve(finished) })
			conns <- c
		})
	}()
	return ln.Addr().String(), served
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestShutdownDrainsInterruptedConnections(t *testing.T) {
	tr := &Tracker{Name: "test"}
	var finished atomic.Int32
	conns := make(chan *testConn, 2)
	addr, served := serveTracker(t, tr, true, &finished, conns)
	dial(t, addr)
	dial(t, addr)
	c1, c2 := <-conns, <-conns
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
	if finished.Load() != 2 || c1.drops.Load()+c2.drops.Load() != 0 {
		t.Fatalf("after shutdown: %d finished, drops %d/%d", finished.Load(), c1.drops.Load(), c2.drops.Load())
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve returned %v", err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("the listener still accepts after shutdown")
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
}

func TestShutdownDropsWhatOutlivesTheDeadline(t *testing.T) {
	tr := &Tracker{Name: "test"}
	var finished atomic.Int32
	conns := make(chan *testConn, 1)
	addr, _ := serveTracker(t, tr, false, &finished, conns)
	dial(t, addr)
	c := <-conns
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := tr.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown past its deadline: %v", err)
	}
	// Shutdown returns only once the dropped connection's goroutine ended.
	if c.drops.Load() != 1 || finished.Load() != 1 {
		t.Fatalf("drops %d, finished %d", c.drops.Load(), finished.Load())
	}
}

func TestNothingServedAfterShutdown(t *testing.T) {
	tr := &Tracker{Name: "test"}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Serve(ln, func(net.Conn) { t.Error("accepted after shutdown") }); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve left the listener open: %v", err)
	}
	c := newTestConn(nil, true)
	c.Conn = &net.TCPConn{}
	if tr.Go(c, func() { t.Error("served after shutdown") }) || c.drops.Load() != 1 {
		t.Fatal("Go after Shutdown did not drop the connection")
	}
}
