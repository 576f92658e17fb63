package oauth

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestHashBudget(t *testing.T) {
	for _, tt := range []struct {
		share float64
		cpus  int
		slots int
		duty  float64
	}{
		{0.2, 2, 1, 0.4},  // this machine: one hash at a time, hashing 40 % of the time
		{0.2, 1, 1, 0.2},  // one CPU: a fifth of it
		{0.2, 16, 4, 0.8}, // 3.2 CPUs' worth: four slots hashing 80 % of the time
		{0.5, 4, 2, 1},    // exactly two CPUs: two slots, no rest
		{1, 2, 2, 1},
	} {
		slots, duty := hashBudget(tt.share, tt.cpus)
		if slots != tt.slots || duty < tt.duty-1e-9 || duty > tt.duty+1e-9 {
			t.Errorf("hashBudget(%v, %d) = %d, %v; want %d, %v", tt.share, tt.cpus, slots, duty, tt.slots, tt.duty)
		}
	}
	if got := restAfter(40*time.Millisecond, 0.4); got != 60*time.Millisecond {
		t.Errorf("rest after 40 ms at duty 0.4 = %v, want 60 ms", got)
	}
	if got := restAfter(40*time.Millisecond, 1); got != 0 {
		t.Errorf("rest at duty 1 = %v, want 0", got)
	}
}

// TestHasherSlotRests checks that a slot is taken for the hash and its
// rest, and that a waiting hash gives up with its context.
func TestHasherSlotRests(t *testing.T) {
	h := &Hasher{params: Argon2Params{Memory: 64, Time: 1, Threads: 1}, slots: make(chan struct{}, 1), duty: 1e-6, maxWaiting: 1}
	if _, err := h.Hash(t.Context(), "first"); err != nil {
		t.Fatal(err)
	}
	// The first hash's slot now rests for about a million times its
	// duration: a second hash must wait for it.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "second"); err == nil {
		t.Fatal("the second hash did not wait for the resting slot")
	}
}

// TestHasherQueueBounded fills the queue: the next hash is refused at once
// with temporarily_unavailable and a retry time, and waiters that give up
// leave the queue.
func TestHasherQueueBounded(t *testing.T) {
	h := &Hasher{params: Argon2Params{Memory: 64, Time: 1, Threads: 1}, slots: make(chan struct{}, 1), duty: 1, maxWaiting: 2}
	h.slots <- struct{}{} // the only slot is busy
	ctx, cancel := context.WithCancel(t.Context())
	errs := make(chan error, 2)
	for range 2 {
		go func() { _, err := h.Hash(ctx, "waits"); errs <- err }()
	}
	for h.waiting.Load() < 2 {
		time.Sleep(time.Millisecond) // until both wait for the slot
	}
	_, err := h.Hash(t.Context(), "refused")
	var oerr *Error
	if !errors.As(err, &oerr) || !errors.Is(err, ErrTemporarilyUnavail) || oerr.RetryAfter <= 0 {
		t.Fatalf("a hash beyond the queue: %v, want temporarily_unavailable with a retry time", err)
	}
	cancel()
	for range 2 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("a waiter that gave up: %v", err)
		}
	}
	if n := h.waiting.Load(); n != 0 || h.runs.Load() != 0 {
		t.Fatalf("%d still waiting, %d hashed", n, h.runs.Load())
	}
}
