package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
)

// peekFailures reads the records of keys through a reservation that is
// always refused, so that nothing changes.
func peekFailures(t *testing.T, s Store, keys ...string) map[string]models.LoginFailure {
	t.Helper()
	out := map[string]models.LoginFailure{}
	d, err := s.ReserveLoginAttempt(t.Context(), keys, t0, time.Hour, func(rs []models.LoginFailure) time.Duration {
		clear(out)
		for _, r := range rs {
			out[r.Key] = r
		}
		return time.Second
	})
	if err != nil || d != time.Second {
		t.Fatalf("peek: %v, %v", d, err)
	}
	return out
}

// testReserveLogin: a reservation counts under every key before the
// attempt; a refused one counts nothing; a stale count starts again.
func testReserveLogin(t *testing.T, s Store) {
	ctx := t.Context()
	keys := []string{"user:alice", "addr:192.0.2.1"}
	atMost := func(n int) func([]models.LoginFailure) time.Duration {
		return func(rs []models.LoginFailure) time.Duration {
			for _, r := range rs {
				if r.Failures >= n {
					return 7 * time.Second
				}
			}
			return 0
		}
	}
	for i := range 3 {
		if d, err := s.ReserveLoginAttempt(ctx, keys, t0.Add(time.Duration(i)*time.Second), time.Hour, atMost(3)); err != nil || d != 0 {
			t.Fatalf("reservation %d: %v, %v", i+1, d, err)
		}
	}
	if d, err := s.ReserveLoginAttempt(ctx, keys, t0.Add(3*time.Second), time.Hour, atMost(3)); err != nil || d != 7*time.Second {
		t.Fatalf("fourth reservation: %v, %v; want a 7s wait", d, err)
	}
	got := peekFailures(t, s, append(keys, "user:nobody")...)
	if len(got) != 2 {
		t.Fatalf("records %v, want the two keys only", got)
	}
	for _, k := range keys {
		r := got[k]
		if r.Failures != 3 || !r.LastAt.Equal(t0.Add(2*time.Second).Truncate(time.Microsecond)) {
			t.Fatalf("%s: %+v, want 3 failures, the last at the third reservation (the refused one counts nothing)", k, r)
		}
	}
	// After the window, the count starts again from one.
	if d, err := s.ReserveLoginAttempt(ctx, keys[:1], t0.Add(2*time.Hour), time.Hour, func([]models.LoginFailure) time.Duration { return 0 }); err != nil || d != 0 {
		t.Fatalf("after the window: %v, %v", d, err)
	}
	if r := peekFailures(t, s, keys[0])[keys[0]]; r.Failures != 1 {
		t.Fatalf("after the window: %+v, want 1 failure", r)
	}
	if n, err := s.PurgeLoginFailures(ctx, t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v; want the address record only", n, err)
	}
}

// testReleaseLogin: a success clears its username and takes its attempt
// back off the address.
func testReleaseLogin(t *testing.T, s Store) {
	ctx := t.Context()
	allow := func([]models.LoginFailure) time.Duration { return 0 }
	for _, keys := range [][]string{{"user:alice", "addr:a"}, {"user:bob", "addr:a"}, {"user:bob", "addr:b"}} {
		if _, err := s.ReserveLoginAttempt(ctx, keys, t0, time.Hour, allow); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ReleaseLoginAttempt(ctx, []string{"user:alice"}, []string{"addr:a"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLoginAttempt(ctx, []string{"user:carol"}, []string{"addr:b", "addr:none"}); err != nil {
		t.Fatal(err)
	}
	got := peekFailures(t, s, "user:alice", "user:bob", "addr:a", "addr:b", "addr:none")
	if len(got) != 2 || got["user:bob"].Failures != 2 || got["addr:a"].Failures != 1 {
		t.Fatalf("after the releases: %+v; want user:bob at 2 and addr:a at 1 only", got)
	}
}

// testReserveLoginParallel races 100 reservations of one username (and
// one address): exactly the allowed number pass.
func testReserveLoginParallel(t *testing.T, s Store) {
	const allowed = 7
	var passed, waited atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			keys := []string{"user:alice", "addr:" + []string{"a", "b"}[i%2]}
			d, err := s.ReserveLoginAttempt(t.Context(), keys, t0, time.Hour, func(rs []models.LoginFailure) time.Duration {
				for _, r := range rs {
					if r.Key == "user:alice" && r.Failures >= allowed {
						return time.Second
					}
				}
				return 0
			})
			switch {
			case err != nil:
				errs <- err
			case d == 0:
				passed.Add(1)
			default:
				waited.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if passed.Load() != allowed || waited.Load() != 100-allowed {
		t.Fatalf("%d reservations passed and %d waited, want %d and %d", passed.Load(), waited.Load(), allowed, 100-allowed)
	}
	got := peekFailures(t, s, "user:alice", "addr:a", "addr:b")
	if got["user:alice"].Failures != allowed || got["addr:a"].Failures+got["addr:b"].Failures != allowed {
		t.Fatalf("records %+v, want %d attempts counted", got, allowed)
	}
}
