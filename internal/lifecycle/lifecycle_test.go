package lifecycle

import (
	"context"
	"errors"
	"net"
	"reflect"
	"sync/atomic"
	"testing"
	"time"
)

func TestStopBeforeStartIsANoOpAndForbidsStart(t *testing.T) {
	var starts, stops atomic.Int32
	h := &Hooks{
		OnStart: func(context.Context) error { starts.Add(1); return nil },
		OnStop:  func(context.Context) error { stops.Add(1); return nil },
	}
	if err := h.Stop(context.Background()); err != nil {
		t.Fatalf("stop before start: %v", err)
	}
	if err := h.Start(context.Background()); !errors.Is(err, ErrStopped) {
		t.Fatalf("start after stop: got %v, want ErrStopped", err)
	}
	if starts.Load() != 0 || stops.Load() != 0 {
		t.Fatalf("hooks ran: %d starts, %d stops", starts.Load(), stops.Load())
	}
}

func TestStopIsIdempotent(t *testing.T) {
	var stops atomic.Int32
	h := &Hooks{OnStop: func(context.Context) error { stops.Add(1); return errors.New("first stop failed") }}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); !errors.Is(err, ErrStarted) {
		t.Fatalf("second start: got %v, want ErrStarted", err)
	}
	if err := h.Stop(context.Background()); err == nil {
		t.Fatal("first stop's error was lost")
	}
	if err := h.Stop(context.Background()); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if n := stops.Load(); n != 1 {
		t.Fatalf("OnStop ran %d times, want 1", n)
	}
}

func TestFailedStartIsNotStopped(t *testing.T) {
	var stops atomic.Int32
	h := &Hooks{
		OnStart: func(context.Context) error { return errors.New("address in use") },
		OnStop:  func(context.Context) error { stops.Add(1); return nil },
	}
	if err := h.Start(context.Background()); err == nil {
		t.Fatal("start error lost")
	}
	if err := h.Stop(context.Background()); err != nil || stops.Load() != 0 {
		t.Fatalf("stop after failed start: err %v, OnStop ran %d times", err, stops.Load())
	}
}

func TestLoopStopsWhenItsRunReturns(t *testing.T) {
	ran := make(chan struct{})
	var ended atomic.Bool
	l := Loop(func(ctx context.Context) {
		close(ran)
		<-ctx.Done()
		ended.Store(true)
	})
	// The start context ending (the signal) must not end the loop: Stop does.
	sctx, cancel := context.WithCancel(context.Background())
	if err := l.Start(sctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-ran
	time.Sleep(20 * time.Millisecond)
	if ended.Load() {
		t.Fatal("the loop ended with its start context")
	}
	if err := l.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !ended.Load() {
		t.Fatal("Stop returned before the loop did")
	}
	if err := l.Stop(context.Background()); err != nil {
		t.Fatalf("second stop: %v", err)
	}
}

func TestStopWithAnExpiredDeadlineReportsIt(t *testing.T) {
	release := make(chan struct{})
	l := Loop(func(ctx context.Context) { <-release }) // ignores its context: a stuck drain
	defer close(release)
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := l.Stop(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stop past its deadline: got %v, want DeadlineExceeded", err)
	}
}

func TestGroupStartsInOrderStopsInReverse(t *testing.T) {
	var log []string
	svc := func(name string, startErr error) Named {
		return Named{Name: name, Service: &Hooks{
			OnStart: func(context.Context) error { log = append(log, "start "+name); return startErr },
			OnStop:  func(context.Context) error { log = append(log, "stop "+name); return nil },
		}}
	}
	var g Group
	err := g.Start(context.Background(), svc("a", nil), svc("b", nil), svc("c", errors.New("bind")), svc("d", nil))
	if err == nil || err.Error() != "c: bind" {
		t.Fatalf("start error: %v", err)
	}
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"start a", "start b", "start c", "stop b", "stop a"}
	if !reflect.DeepEqual(log, want) {
		t.Fatalf("order: %q, want %q", log, want)
	}
	if err := g.Stop(context.Background()); err != nil || len(log) != len(want) {
		t.Fatalf("second group stop: %v, %q", err, log)
	}
}

func TestGroupStopNamesTheServiceThatDidNotDrain(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var g Group
	if err := g.Start(context.Background(),
		Named{Name: "quick", Service: Loop(func(ctx context.Context) { <-ctx.Done() })},
		Named{Name: "stuck", Service: Loop(func(context.Context) { <-release })}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := g.Stop(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || err.Error()[:6] != "stuck:" {
		t.Fatalf("group stop: %v", err)
	}
}

func TestListenerReportsABindErrorAndShutsDown(t *testing.T) {
	served := make(chan struct{})
	var shut atomic.Int32
	l := Listen("test", "127.0.0.1:0", func(ln net.Listener) error {
		close(served)
		c, err := ln.Accept() // returns once shutdown closed ln
		if err == nil {
			c.Close()
		}
		return nil
	}, func(context.Context) error { shut.Add(1); return nil })
	if l.Addr() != nil {
		t.Fatal("an address before Start")
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-served
	taken := Listen("test", l.Addr().String(), func(net.Listener) error { return nil }, nil)
	if err := taken.Start(context.Background()); err == nil {
		t.Fatal("binding an address in use succeeded")
	}
	if err := l.Stop(context.Background()); err != nil || shut.Load() != 1 {
		t.Fatalf("stop: %v, shutdown ran %d times", err, shut.Load())
	}
	l.Stop(context.Background()) //nolint:errcheck
	if shut.Load() != 1 {
		t.Fatal("shutdown ran twice")
	}
	l.ln.Close()
}
