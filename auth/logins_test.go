package auth

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Concurrent password checks with the production parameters (64 MiB each)
// are bounded by the hash slots: the heap grows by a few hashes' memory, not
// by one per request.
func TestConcurrentHashesBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes 16 times with 64 MiB")
	}
	hash, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	const n = 16
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := CheckPassword(context.Background(), hash, "wrong"); ok || err != nil {
				t.Errorf("check: %v %v", ok, err)
			}
		}()
	}
	wg.Wait()
	close(done)
	grown := int64(peak.Load()) - int64(base)
	// Freed hash memory stays in the heap until the next GC: allow twice
	// the slots' worth.
	limit := 2 * int64(cap(hashSlots)+1) * int64(Argon2Params.MemoryKiB) << 10
	t.Logf("%d concurrent checks, %d slots: heap grew %d MiB at most (limit %d MiB; unbounded would be %d MiB)",
		n, cap(hashSlots), grown>>20, limit>>20, n*int64(Argon2Params.MemoryKiB)>>10)
	if grown > limit {
		t.Fatalf("heap grew %d MiB for %d concurrent checks", grown>>20, n)
	}
	// A check waiting for a slot gives up with its context.
	for i := 0; i < cap(hashSlots); i++ {
		hashSlots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := CheckPassword(ctx, hash, "wrong"); err == nil {
		t.Error("a check without a slot did not end with its context")
	}
	for i := 0; i < cap(hashSlots); i++ {
		<-hashSlots
	}
}
