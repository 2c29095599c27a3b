package auth_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/radraft/radraft/auth"
	"github.com/radraft/radraft/drafts/draftstest"
)

// An unknown user costs the same as a wrong password for a known one: both
// check one hash of the same parameters.
func TestUnknownUserTakesTheSameTime(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes with 64 MiB")
	}
	s := auth.New(draftstest.New(t).DB())
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, "alice", auth.RoleRadiologist, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	// Interleaved, so that the machine's load falls on both alike.
	var known, unknown []time.Duration
	for i := 0; i < 7; i++ {
		for _, user := range []string{"alice", "nobody"} {
			start := time.Now()
			if _, err := s.Authenticate(ctx, user, "wrong password"); err != auth.ErrBadCredentials {
				t.Fatal(err)
			}
			if user == "alice" {
				known = append(known, time.Since(start))
			} else if i > 0 { // the first computes the dummy hash
				unknown = append(unknown, time.Since(start))
			}
		}
	}
	median := func(ds []time.Duration) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	k, u := median(known), median(unknown)
	t.Logf("median: known user %s, unknown user %s", k, u)
	if ratio := float64(u) / float64(k); ratio < 0.5 || ratio > 2 {
		t.Fatalf("unknown user %s vs known user %s", u, k)
	}
}

// Concurrent attempts on one key: exactly the limit get through, however
// many arrive at once; a success gives its address's attempt back.
func TestLoginThrottleHoldsUnderConcurrency(t *testing.T) {
	s := auth.New(draftstest.New(t).DB())
	ctx := context.Background()
	keys := []auth.ThrottleKey{{Key: "u:x|1.2.3.4", Limit: 5}, {Key: "ip:1.2.3.4", Limit: 30}}
	var mu sync.Mutex
	passed, waits := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait, err := s.ReserveLoginAttempt(ctx, keys, time.Minute)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Error(err)
			case wait == 0:
				passed++
			case wait > 0 && wait <= time.Minute:
				waits++
			}
		}()
	}
	wg.Wait()
	if passed != 5 || waits != 35 {
		t.Fatalf("%d passed, %d told to wait; want 5 and 35", passed, waits)
	}
	if err := s.LoginSucceeded(ctx, []string{"u:x|1.2.3.4"}, []string{"ip:1.2.3.4"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if wait, err := s.ReserveLoginAttempt(ctx, keys[:1], time.Minute); err != nil || wait != 0 {
		t.Fatalf("after a success: wait %s, %v", wait, err)
	}
}
