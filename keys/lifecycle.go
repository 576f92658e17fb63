package keys

import (
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/models"
)

// The key lifecycle (SPEC §4): a key is created NEXT when the key before it
// becomes active, so it is published a whole rotation period before it
// signs; it is ACTIVE for one period; then RETIRED, still published until
// every token it signed has expired plus the JWKS max-age; then removed.

// ErrTooEarly refuses a rotation whose next key may still be unknown to
// resource servers that cached the JWKS.
var ErrTooEarly = errors.New("keys: the next key has not been published for the JWKS max-age yet")

// CheckRotation enforces SPEC §4's rule that a key signs for at least twice
// the JWKS max-age, so that the next key is published for a whole max-age
// before it signs and a cached JWKS always knows the signing key.
func CheckRotation(period, jwksMaxAge time.Duration) error {
	if period < 2*jwksMaxAge {
		return fmt.Errorf("keys: the rotation period (%s) must be at least twice the JWKS max-age (%s)", period, jwksMaxAge)
	}
	return nil
}

// plan is the pure part of a rotation: from the stored keys and the time,
// what the key set must become. force rotates even before the active key's
// period is over (admin request).
type plan struct {
	opts Options
	kek  []byte
	now  time.Time
}

// bootstrap creates the first keys of an empty database: the active key
// signs at once (no verifier can have cached a JWKS yet) and the next one
// is published from the start.
func (p plan) bootstrap() ([]models.SigningKey, error) {
	active, err := newKey(p.opts.Alg, models.KeyActive, p.kek, p.now, p.now)
	if err != nil {
		return nil, err
	}
	active.RetireAt = p.now.Add(p.opts.RotationPeriod)
	next, err := newKey(p.opts.Alg, models.KeyNext, p.kek, p.now, active.RetireAt)
	if err != nil {
		return nil, err
	}
	return []models.SigningKey{active, next}, nil
}

// due reports whether the stored keys need a write: a rotation is due, a
// retired key's time is up, or a key is missing.
func (p plan) due(ks []models.SigningKey) bool {
	active, next := find(ks, models.KeyActive), find(ks, models.KeyNext)
	if active == nil || next == nil || !p.now.Before(active.RetireAt) {
		return true
	}
	for _, k := range ks {
		if k.State == models.KeyRetired && !p.now.Before(k.RemoveAt) {
			return true
		}
	}
	return false
}

// apply returns the key set after whatever is due (or forced) now, and
// whether a rotation happened.
func (p plan) apply(ks []models.SigningKey, force bool) ([]models.SigningKey, bool, error) {
	if len(ks) == 0 {
		out, err := p.bootstrap()
		return out, true, err
	}
	var out []models.SigningKey
	for _, k := range ks { // drop retired keys whose tokens are all gone
		if k.State != models.KeyRetired || p.now.Before(k.RemoveAt) {
			out = append(out, k)
		}
	}
	active, next := find(out, models.KeyActive), find(out, models.KeyNext)
	if next == nil {
		// A next key must be published before anything can rotate.
		k, err := newKey(p.opts.Alg, models.KeyNext, p.kek, p.now, p.now.Add(p.opts.RotationPeriod))
		if err != nil {
			return nil, false, err
		}
		out = append(out, k)
		next = &out[len(out)-1]
		if active != nil {
			return out, false, nil
		}
	}
	if active != nil && !force && p.now.Before(active.RetireAt) {
		return out, false, nil
	}
	if published := p.now.Sub(next.CreatedAt); published < p.opts.JWKSMaxAge && active != nil {
		if force {
			return nil, false, fmt.Errorf("%w (it was published %s ago)", ErrTooEarly, published.Round(time.Second))
		}
		return out, false, nil // cannot happen with period >= 2*max-age; wait
	}
	if active != nil {
		active.State = models.KeyRetired
		active.RetireAt = p.now
		active.RemoveAt = p.now.Add(p.opts.TokenTTL + p.opts.JWKSMaxAge + p.opts.ReloadInterval)
	}
	next.State = models.KeyActive
	next.ActivateAt = p.now
	next.RetireAt = p.now.Add(p.opts.RotationPeriod)
	newNext, err := newKey(p.opts.Alg, models.KeyNext, p.kek, p.now, next.RetireAt)
	if err != nil {
		return nil, false, err
	}
	return append(out, newNext), true, nil
}

// find returns the first key in the given state, or nil.
func find(ks []models.SigningKey, state string) *models.SigningKey {
	for i := range ks {
		if ks[i].State == state {
			return &ks[i]
		}
	}
	return nil
}
