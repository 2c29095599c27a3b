package auth

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ThrottleKey is one key of the login throttle and how many attempts it may
// make in a window.
type ThrottleKey struct {
	Key   string
	Limit int
}

// ReserveLoginAttempt counts one login attempt against every key, committed
// before it returns, and returns how long the caller must wait when any key
// is now over its limit in the current window (0: go ahead and check the
// password). Because the count comes first, n concurrent attempts on a key
// with limit L let at most L through, on one node or many.
func (s *Store) ReserveLoginAttempt(ctx context.Context, keys []ThrottleKey, window time.Duration) (time.Duration, error) {
	keys = append([]ThrottleKey(nil), keys...)
	sort.Slice(keys, func(i, j int) bool { return keys[i].Key < keys[j].Key }) // one lock order
	names := make([]string, len(keys))
	limits := map[string]int{}
	for i, k := range keys {
		names[i] = k.Key
		limits[k.Key] = k.Limit
	}
	rows, err := s.db.Query(ctx, `INSERT INTO login_throttle AS t (key, window_start, attempts)
		SELECT k, now(), 1 FROM unnest($1::text[]) WITH ORDINALITY AS u(k, n) ORDER BY n
		ON CONFLICT (key) DO UPDATE SET
			window_start = CASE WHEN t.window_start <= now() - make_interval(secs => $2) THEN now() ELSE t.window_start END,
			attempts     = CASE WHEN t.window_start <= now() - make_interval(secs => $2) THEN 1 ELSE t.attempts + 1 END
		RETURNING key, attempts, extract(epoch FROM window_start + make_interval(secs => $2) - now())::float8`,
		names, window.Seconds())
	if err != nil {
		return 0, fmt.Errorf("auth: login throttle: %w", err)
	}
	defer rows.Close()
	var wait time.Duration
	for rows.Next() {
		var key string
		var attempts int
		var left float64
		if err := rows.Scan(&key, &attempts, &left); err != nil {
			return 0, fmt.Errorf("auth: login throttle: %w", err)
		}
		if attempts > limits[key] {
			wait = max(wait, time.Duration(left*float64(time.Second)))
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("auth: login throttle: %w", err)
	}
	if wait > 0 {
		wait = max(wait, time.Second)
	}
	return wait, nil
}

// LoginSucceeded clears the keys in reset (a user's failures at an address)
// and gives one attempt back to each key in giveBack (a success is not a
// failure of the address). Windows long over are deleted on the way.
func (s *Store) LoginSucceeded(ctx context.Context, reset, giveBack []string, window time.Duration) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM login_throttle WHERE key = ANY($1::text[])
			OR window_start < now() - 2 * make_interval(secs => $2)`, reset, window.Seconds()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE login_throttle SET attempts = greatest(attempts - 1, 0) WHERE key = ANY($1::text[])`, giveBack)
		return err
	})
	if err != nil {
		return fmt.Errorf("auth: login throttle: %w", err)
	}
	return nil
}

// hashSlots bounds how many argon2id hashes run at once (each takes
// Argon2Params.MemoryKiB, 64 MiB by default): between 2 and 4, by CPUs.
var hashSlots = make(chan struct{}, min(4, max(2, runtime.GOMAXPROCS(0)/2)))

// withHashSlot runs f while holding one of the hash slots; it gives up when
// ctx ends first.
func withHashSlot(ctx context.Context, f func()) error {
	select {
	case hashSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-hashSlots }()
	f()
	return nil
}

// dummyHash is checked against when the user does not exist, so that a
// login's timing does not tell whether a username exists. It is computed on
// first use (not at start-up of every program that imports auth), with
// the parameters new hashes use.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("radraft-dummy-password")
	if err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return h
})
