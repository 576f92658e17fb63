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
// Safe for concurrent use.
type Hasher struct {
	params     Argon2Params
	slots      chan struct{}
	duty       float64
	maxWaiting int64        // hashes that may wait for a slot
	waiting    atomic.Int64 // hashes waiting for a slot
	dummy      string       // verified against when there is no stored hash
	runs       atomic.Int64 // hashes computed (tests)
}

// HashQueuePerSlot bounds the hashes waiting for a slot, per slot: room
// for a burst of honest logins (a morning rush, a service starting its
// workers) to queue for a few seconds with the default cost and budget,
// while a flood is refused at once rather than making every caller wait
// longer. Callers that give up leave the queue.
const HashQueuePerSlot = 32

// errHasherBusy refuses a hash when too many wait already.
var errHasherBusy = ErrTemporarilyUnavail.Describe("too many logins in progress; retry shortly").After(time.Second)

// NewHasher returns a hasher; zero params mean the default (19 MiB, t=2,
// p=1), a share outside (0, 1] means HashCPUShare.
func NewHasher(p Argon2Params, share float64) (*Hasher, error) {
	if p == (Argon2Params{}) {
		p = defaultArgon2
	}
	if p.Memory < 8*uint32(p.Threads) || p.Time == 0 || p.Threads == 0 {
		return nil, fmt.Errorf("oauth: invalid argon2 parameters %+v", p)
	}
	if share <= 0 || share > 1 {
		share = HashCPUShare
	}
	slots, duty := hashBudget(share, runtime.GOMAXPROCS(0))
	h := &Hasher{params: p, slots: make(chan struct{}, slots), duty: duty, maxWaiting: int64(HashQueuePerSlot * slots)}
	dummy, err := h.Hash(context.Background(), "baton dummy password")
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// Hash returns the PHC string of an argon2id hash of secret with a fresh salt.
func (h *Hasher) Hash(ctx context.Context, secret string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	var sum []byte
	if err := h.run(ctx, func() {
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
	if err := h.run(ctx, func() {
		got = argon2.IDKey([]byte(secret), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	}); err != nil {
		return false, err
	}
	return encoded != "" && subtle.ConstantTimeCompare(got, want) == 1, nil
}

// hashBudget turns a share of cpus into slots and a duty cycle per slot.
func hashBudget(share float64, cpus int) (slots int, duty float64) {
	budget := share * float64(cpus) // CPUs' worth of hashing
	slots = max(1, int(math.Ceil(budget)))
	return slots, min(1, budget/float64(slots))
}

// restAfter is how long a slot rests after a hash that took d.
func restAfter(d time.Duration, duty float64) time.Duration {
	return time.Duration(float64(d) * (1/duty - 1))
}

// run hashes in a slot, then lets the slot rest in the background. It
// refuses with errHasherBusy when too many hashes wait for a slot already.
func (h *Hasher) run(ctx context.Context, hash func()) error {
	if err := ctx.Err(); err != nil {
		return err // the caller is gone: hash nothing for it
	}
	select {
	case h.slots <- struct{}{}:
	default:
		if h.waiting.Add(1) > h.maxWaiting {
			h.waiting.Add(-1)
			return errHasherBusy
		}
		select {
		case h.slots <- struct{}{}:
			h.waiting.Add(-1)
		case <-ctx.Done():
			h.waiting.Add(-1)
			return ctx.Err()
		}
	}
	start := time.Now()
	hash()
	h.runs.Add(1)
	release := func() { <-h.slots }
	if rest := restAfter(time.Since(start), h.duty); rest > 0 {
		time.AfterFunc(rest, release)
	} else {
		release()
	}
	return nil
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
