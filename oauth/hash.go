package oauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

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

// Hasher hashes and verifies passwords and client secrets with argon2id. At
// most one hash per CPU runs at a time, so that a flood of logins queues here
// instead of starving everything else of CPU. Safe for concurrent use.
type Hasher struct {
	params Argon2Params
	slots  chan struct{}
	dummy  string // verified against when there is no stored hash
}

// NewHasher returns a hasher; zero params mean the default (19 MiB, t=2, p=1).
func NewHasher(p Argon2Params) (*Hasher, error) {
	if p == (Argon2Params{}) {
		p = defaultArgon2
	}
	if p.Memory < 8*uint32(p.Threads) || p.Time == 0 || p.Threads == 0 {
		return nil, fmt.Errorf("oauth: invalid argon2 parameters %+v", p)
	}
	h := &Hasher{params: p, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
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
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	sum := argon2.IDKey([]byte(secret), salt, h.params.Time, h.params.Memory, h.params.Threads, hashLen)
	h.release()
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
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(secret), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	h.release()
	return encoded != "" && subtle.ConstantTimeCompare(got, want) == 1, nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

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
