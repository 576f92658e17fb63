package oauth

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestHashBudget(t *testing.T) {
	for _, tt := range []struct {
		share    float64
		cpus     int
		maxSlots int // what memory allows
		slots    int
		duty     float64
	}{
		{0.2, 2, 9, 1, 0.4},  // this machine: one hash at a time, hashing 40 % of the time
		{0.2, 1, 9, 1, 0.2},  // one CPU: a fifth of it
		{0.2, 16, 9, 4, 0.8}, // 3.2 CPUs' worth: four slots hashing 80 % of the time
		{0.5, 4, 9, 2, 1},    // exactly two CPUs: two slots, no rest
		{1, 2, 9, 2, 1},
		{0.2, 16, 2, 2, 1}, // memory for two hashes: two slots hashing all the time
		{0.2, 32, 3, 3, 1}, // 6.4 CPUs' worth, memory for three: still three
		{0.5, 4, 1, 1, 1},  // memory for one
	} {
		slots, duty := hashBudget(tt.share, tt.cpus, tt.maxSlots)
		if slots != tt.slots || duty < tt.duty-1e-9 || duty > tt.duty+1e-9 {
			t.Errorf("hashBudget(%v, %d, %d) = %d, %v; want %d, %v", tt.share, tt.cpus, tt.maxSlots, slots, duty, tt.slots, tt.duty)
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
func TestHasherQueueBounded(t *testing.T) { synctest.Test(t, testHasherQueueBounded) }

func testHasherQueueBounded(t *testing.T) {
	h := &Hasher{params: Argon2Params{Memory: 64, Time: 1, Threads: 1}, slots: make(chan struct{}, 1), duty: 1, maxWaiting: 2}
	h.slots <- struct{}{} // the only slot is busy
	ctx, cancel := context.WithCancel(t.Context())
	errs := make(chan error, 2)
	for range 2 {
		go func() { _, err := h.Hash(ctx, "waits"); errs <- err }()
	}
	synctest.Wait() // until both block
	if n := h.waiting.Load(); n != 2 {
		t.Fatalf("%d hashes wait for the busy slot, want 2", n)
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

// TestHasherMemoryBudget: the slots are at most what the memory budget
// holds, and a budget that does not hold one hash is refused.
func TestHasherMemoryBudget(t *testing.T) {
	p := Argon2Params{Memory: 64, Time: 1, Threads: 1}
	h, err := NewHasher(p, HashLimits{CPUShare: 1, Memory: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if h.Slots() != 1 {
		t.Errorf("%d slots within memory for one hash", h.Slots())
	}
	if _, err := NewHasher(p, HashLimits{CPUShare: 1, Memory: 63 << 10}); err == nil {
		t.Error("a memory budget smaller than one hash was accepted")
	}
}

// TestHasherWideHashTakesItsMemory verifies a stored hash whose memory cost
// is three slots' while one slot is busy: it waits until it holds three
// slots, and no narrow hash runs beside it meanwhile.
func TestHasherWideHashTakesItsMemory(t *testing.T) {
	synctest.Test(t, testHasherWideHashTakesItsMemory)
}

func testHasherWideHashTakesItsMemory(t *testing.T) {
	p := Argon2Params{Memory: 64, Time: 1, Threads: 1}
	h := &Hasher{params: p, slots: make(chan struct{}, 4), duty: 1, maxWaiting: 8, wide: make(chan struct{}, 1)}
	wide := &Hasher{params: Argon2Params{Memory: 3 * 64, Time: 1, Threads: 1}, slots: make(chan struct{}, 1), duty: 1, maxWaiting: 1}
	stored, err := wide.Hash(t.Context(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	if n := h.slotsFor(3 * 64); n != 3 {
		t.Fatalf("a hash of three slots' memory takes %d slots", n)
	}
	if n := h.slotsFor(100 * 64); n != 4 {
		t.Fatalf("a hash of more memory than all slots takes %d slots, want all 4", n)
	}
	h.slots <- struct{}{} // one slot busy
	h.slots <- struct{}{} // and another: one is free, the wide hash needs three
	done := make(chan bool, 1)
	go func() {
		ok, err := h.Verify(t.Context(), stored, "pw")
		done <- ok && err == nil
	}()
	synctest.Wait() // until it blocks for the slot it lacks
	if n := len(h.slots); n != cap(h.slots) {
		t.Fatalf("%d of %d slots held while the wide hash waits: it should hold the free ones", n, cap(h.slots))
	}
	select {
	case <-done:
		t.Fatal("the wide hash ran in one free slot")
	default:
	}
	<-h.slots // one busy slot frees: now three are free
	if !<-done {
		t.Fatal("the wide hash did not verify")
	}
	if len(h.slots) != 1 {
		t.Fatalf("%d slots held after the wide hash, want the 1 still busy", len(h.slots))
	}
}

// TestHasherIdleAfterBurst: idle is called once the last hash of a burst
// is done, not while hashes still wait.
func TestHasherIdleAfterBurst(t *testing.T) { synctest.Test(t, testHasherIdleAfterBurst) }

func testHasherIdleAfterBurst(t *testing.T) {
	idle := make(chan struct{}, 16)
	h := &Hasher{params: Argon2Params{Memory: 64, Time: 1, Threads: 1}, slots: make(chan struct{}, 1), duty: 1, maxWaiting: 8,
		idle: func() { idle <- struct{}{} }}
	h.slots <- struct{}{} // busy: the burst queues
	errs := make(chan error, 4)
	for range 4 {
		go func() { _, err := h.Hash(t.Context(), "pw"); errs <- err }()
	}
	synctest.Wait() // until all four block
	if n := h.waiting.Load(); n != 4 {
		t.Fatalf("%d hashes wait for the busy slot, want 4", n)
	}
	<-h.slots // free the slot: the four hash one by one
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	<-idle
	synctest.Wait() // every goroutine of the burst has finished or blocked
	select {
	case <-idle:
		t.Fatal("idle called more than once for one burst")
	default:
	}
}

// TestHasherCollectsBeforeNextHash: after a hash, collect runs before its
// slot takes the next one, so the next hash reuses the memory collect
// freed instead of the heap holding both.
func TestHasherCollectsBeforeNextHash(t *testing.T) {
	synctest.Test(t, testHasherCollectsBeforeNextHash)
}

func testHasherCollectsBeforeNextHash(t *testing.T) {
	collecting, finish := make(chan struct{}, 4), make(chan struct{})
	h := &Hasher{params: Argon2Params{Memory: 64, Time: 1, Threads: 1}, slots: make(chan struct{}, 1), duty: 1, maxWaiting: 8,
		collect: func() { collecting <- struct{}{}; <-finish }}
	if _, err := h.Hash(t.Context(), "first"); err != nil {
		t.Fatal(err)
	}
	<-collecting // the first hash's collection is running
	second := make(chan error, 1)
	go func() { _, err := h.Hash(t.Context(), "second"); second <- err }()
	synctest.Wait() // until the second hash waits, or has run
	if h.runs.Load() != 1 {
		t.Fatalf("%d hashes ran while the first one's memory was being collected; want 1", h.runs.Load())
	}
	close(finish) // collected: the slot is free
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if got := h.runs.Load(); got != 2 {
		t.Fatalf("runs = %d, want 2", got)
	}
	<-collecting // the second hash is collected too
}
