package oauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id parameters for passwords and client secrets.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // iterations
	Threads uint8
}

// defaultArgon2 follows the OWASP recommendation for argon2id
// (19 MiB, 2 iterations, 1 lane).
var defaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	hashLen = 32
)

var errMalformedHash = errors.New("malformed password hash")

// HashCPUShare is the default share of the machine's CPU that password and
// secret hashing may take: what a flood of logins can take from refreshes.
const HashCPUShare = 0.2

// Hasher hashes and verifies passwords and client secrets with argon2id
// within a CPU budget, so that a flood of logins queues here instead of
// starving everything else (refreshes above all) of CPU. The budget is a
// share of the CPUs: it sets how many hashes run at once (slots) and what
// fraction of its time each slot may hash (duty); after a hash that took d,
// its slot rests d×(1/duty−1) before the next hash may use it. The caller
// does not wait for the rest. At most HashQueuePerSlot hashes per slot may
// wait for a slot: beyond that the hasher refuses at once with
// temporarily_unavailable (503, Retry-After) rather than letting the queue,
// and every caller's wait, grow. A waiting hash gives up with its context.
//
// The slots bound memory too: an argon2id hash holds its memory cost (m
// KiB) while it runs, so at most slots×m KiB of hashing memory is live at
// once. With a memory budget (NewHasher's memory), the slots are also at
// most budget/m. A slot is the configured m; a stored hash with a larger m
// takes as many slots as its m needs (all of them at most), so that the
// bound holds for hashes made under older parameters too. After the last
// hash of a burst (none running, none waiting) the hasher calls its idle
// function, which returns the burst's garbage to the system; after each
// hash, before its slot takes the next, it calls its collect function,
// which frees the hash's memory for the next one to reuse.
// Safe for concurrent use.
type Hasher struct {
	params     Argon2Params
	slots      chan struct{}
	duty       float64
	maxWaiting int64               // hashes that may wait for a slot
	waiting    atomic.Int64        // hashes waiting for a slot
	running    atomic.Int64        // hashes computing or waiting (idle detection)
	wide       chan struct{}       // held by a hash taking more than one slot
	idle       func()              // after the last hash of a burst; nil: nothing
	collect    func()              // after each hash, before its slots are free; nil: nothing
	waited     func(time.Duration) // how long each hash waited for its slot; nil: nothing
	dummy      string              // verified against when there is no stored hash
	runs       atomic.Int64        // hashes computed (tests)
}

// HashLimits bound password and secret hashing.
type HashLimits struct {
	// CPUShare is the share of the CPUs hashing may take; outside (0, 1]:
	// HashCPUShare.
	CPUShare float64
	// Memory is how many bytes of argon2id memory may be live at once;
	// zero: as many as the CPU budget's slots hold.
	Memory int64
	// Idle is called (on its own goroutine) after the last hash of a burst,
	// when no hash runs or waits; nil: nothing.
	Idle func()
	// Collect is called (on its own goroutine) after each hash, before its
	// slots take the next one, and should free the hash's memory (a
	// collection, runtime.GC): the next hash then reuses those pages
	// instead of the heap holding two hashes' worth, which under a memory
	// limit makes the runtime return pages that the next hash faults back
	// in. It runs within the slot's rest; nil: nothing.
	Collect func()
	// Waited is told how long each hash waited for its slot (zero when one
	// was free); nil: nothing. It runs on the hashing goroutine: keep it
	// cheap (a histogram observation).
	Waited func(time.Duration)
}

// HashQueuePerSlot bounds the hashes waiting for a slot, per slot: room
// for a burst of honest logins (a morning rush, a service starting its
// workers) to queue for a few seconds with the default cost and budget,
// while a flood is refused at once rather than making every caller wait
// longer. Callers that give up leave the queue.
const HashQueuePerSlot = 32

// errHasherBusy refuses a hash when too many wait already.
var errHasherBusy = ErrTemporarilyUnavail.Describe("too many logins in progress; retry shortly").After(time.Second)

// DefaultArgon2 returns the parameters NewHasher uses for zero params.
func DefaultArgon2() Argon2Params { return defaultArgon2 }

// NewHasher returns a hasher; zero params mean the default (19 MiB, t=2,
// p=1). It fails when the memory limit does not hold a single hash.
func NewHasher(p Argon2Params, limits HashLimits) (*Hasher, error) {
	if p == (Argon2Params{}) {
		p = defaultArgon2
	}
	if p.Memory < 8*uint32(p.Threads) || p.Time == 0 || p.Threads == 0 {
		return nil, fmt.Errorf("oauth: invalid argon2 parameters %+v", p)
	}
	share := limits.CPUShare
	if share <= 0 || share > 1 {
		share = HashCPUShare
	}
	maxSlots := math.MaxInt
	if limits.Memory > 0 {
		maxSlots = int(limits.Memory / (int64(p.Memory) << 10))
		if maxSlots < 1 {
			return nil, fmt.Errorf("oauth: hashing memory of %d KiB does not hold one argon2id hash of %d KiB", limits.Memory>>10, p.Memory)
		}
	}
	slots, duty := hashBudget(share, runtime.GOMAXPROCS(0), maxSlots)
	h := &Hasher{params: p, slots: make(chan struct{}, slots), duty: duty, maxWaiting: int64(HashQueuePerSlot * slots),
		wide: make(chan struct{}, 1), idle: limits.Idle, collect: limits.Collect, waited: limits.Waited}
	dummy, err := h.Hash(context.Background(), "baton dummy password")
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// Slots is how many hashes may run at once.
func (h *Hasher) Slots() int { return cap(h.slots) }

// Params are the parameters of new hashes.
func (h *Hasher) Params() Argon2Params { return h.params }

// Hash returns the PHC string of an argon2id hash of secret with a fresh salt.
func (h *Hasher) Hash(ctx context.Context, secret string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	var sum []byte
	if err := h.run(ctx, h.params.Memory, func() {
		sum = argon2.IDKey([]byte(secret), salt, h.params.Time, h.params.Memory, h.params.Threads, hashLen)
	}); err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.Memory, h.params.Time, h.params.Threads, b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// Verify reports whether secret matches the PHC-encoded hash. An empty or
// malformed hash costs as much as a real one and never matches, so that
// callers can verify against "" for unknown users without a timing leak.
func (h *Hasher) Verify(ctx context.Context, encoded, secret string) (bool, error) {
	p, salt, want, err := parsePHC(encoded)
	if err != nil {
		p, salt, want, _ = parsePHC(h.dummy)
		secret = "\x00" + secret // never equal to the dummy password
		encoded = ""
	}
	var got []byte
	if err := h.run(ctx, p.Memory, func() {
		got = argon2.IDKey([]byte(secret), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	}); err != nil {
		return false, err
	}
	return encoded != "" && subtle.ConstantTimeCompare(got, want) == 1, nil
}

// hashBudget turns a share of cpus into slots (at most maxSlots, which
// memory allows) and a duty cycle per slot: fewer slots than the CPU
// budget asks each hash more of its time, so that the share stays.
func hashBudget(share float64, cpus, maxSlots int) (slots int, duty float64) {
	budget := share * float64(cpus) // CPUs' worth of hashing
	slots = max(1, min(maxSlots, int(math.Ceil(budget))))
	return slots, min(1, budget/float64(slots))
}

// restAfter is how long a slot rests after a hash that took d.
func restAfter(d time.Duration, duty float64) time.Duration {
	return time.Duration(float64(d) * (1/duty - 1))
}

// run hashes in the slots that memKiB needs, then lets them rest in the
// background. It refuses with errHasherBusy when too many hashes wait for
// a slot already.
func (h *Hasher) run(ctx context.Context, memKiB uint32, hash func()) error {
	if err := ctx.Err(); err != nil {
		return err // the caller is gone: hash nothing for it
	}
	h.running.Add(1)
	defer h.done()
	n := h.slotsFor(memKiB)
	if n > 1 {
		// One wide hash gathers slots at a time, or two could each hold
		// some and wait for the other's forever.
		select {
		case h.wide <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-h.wide }()
	}
	if err := h.acquire(ctx); err != nil {
		return err
	}
	for i := 1; i < n; i++ {
		select {
		case h.slots <- struct{}{}:
		case <-ctx.Done():
			for range i {
				<-h.slots
			}
			return ctx.Err()
		}
	}
	start := time.Now()
	hash()
	h.runs.Add(1)
	release := func() {
		for range n {
			<-h.slots
		}
	}
	end := time.Now()
	rest := restAfter(end.Sub(start), h.duty)
	if h.collect != nil {
		go func() {
			h.collect()
			after(rest-time.Since(end), release)
		}()
	} else {
		after(rest, release)
	}
	return nil
}

// after calls f once d has passed, at once if it has.
func after(d time.Duration, f func()) {
	if d > 0 {
		time.AfterFunc(d, f)
	} else {
		f()
	}
}

// acquire takes one slot, waiting in the bounded queue when none is free.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		h.observeWait(0)
		return nil
	default:
	}
	if h.waiting.Add(1) > h.maxWaiting {
		h.waiting.Add(-1)
		return errHasherBusy
	}
	defer h.waiting.Add(-1)
	start := time.Now()
	select {
	case h.slots <- struct{}{}:
		h.observeWait(time.Since(start))
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) observeWait(d time.Duration) {
	if h.waited != nil {
		h.waited(d)
	}
}

// Waiting reports how many hashes wait for a slot now (the queue's depth).
func (h *Hasher) Waiting() int64 { return h.waiting.Load() }

// slotsFor is how many slots a hash of memKiB holds: its memory over a
// slot's, rounded up, and all of them at most.
func (h *Hasher) slotsFor(memKiB uint32) int {
	per := max(1, uint64(h.params.Memory))
	n := (uint64(memKiB) + per - 1) / per
	return int(max(1, min(n, uint64(cap(h.slots)))))
}

// done ends a hash's turn (computed, refused or given up); the last of a
// burst calls idle.
func (h *Hasher) done() {
	if h.running.Add(-1) == 0 && h.idle != nil {
		go h.idle()
	}
}

// parsePHC parses "$argon2id$v=19$m=…,t=…,p=…$salt$hash".
func parsePHC(s string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, errMalformedHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errMalformedHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, errMalformedHash
	}
	if p.Time == 0 || p.Threads == 0 || p.Memory < 8*uint32(p.Threads) || p.Memory > 1<<22 || p.Time > 64 {
		return p, nil, nil, errMalformedHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	sum, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(sum) < 16 {
		return p, nil, nil, errMalformedHash
	}
	return p, salt, sum, nil
}
