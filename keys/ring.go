// Package keys manages baton's JWT signing keys: generation, sealing with
// the key-encryption key, the next → active → retired lifecycle with
// rotation under a database lock, and the published JWKS.
package keys

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/batonhq/baton/internal/schedule"
	"github.com/batonhq/baton/models"
)

// Options configure a Ring.
type Options struct {
	Alg            string        // ES256 (default when empty), RS256 or EdDSA
	KEK            []byte        // 32-byte key-encryption key
	RotationPeriod time.Duration // how long a key signs
	JWKSMaxAge     time.Duration // Cache-Control max-age of the JWKS
	TokenTTL       time.Duration // longest lifetime of a token a key signs
	// ReloadInterval bounds how long an instance keeps signing with a key
	// another instance has retired. Zero: min(JWKSMaxAge/4, 10s).
	ReloadInterval time.Duration
	// OnRotate, when set, is called after this instance rotated the keys.
	OnRotate func()
}

// Store is what the ring needs of models.Store.
type Store interface {
	SigningKeys(ctx context.Context) ([]models.SigningKey, error)
	UpdateKeys(ctx context.Context, fn func([]models.SigningKey) ([]models.SigningKey, error)) error
}

// Ring holds the signing keys of one instance. Sign and JWKS read an
// immutable snapshot, swapped atomically when the keys change.
type Ring struct {
	store Store
	opts  Options
	now   func() time.Time
	log   *slog.Logger
	snap  atomic.Pointer[snapshot]
}

// snapshot is one version of the key set.
type snapshot struct {
	keys    []models.SigningKey // without sealed private parts
	version string              // changes whenever ids or states do
	kid     string
	alg     jose.SignatureAlgorithm
	priv    crypto.Signer
	signers sync.Map                   // typ → jose.Signer
	public  map[string]jose.JSONWebKey // published keys by kid
	jwks    []byte
	etag    string
}

// NewRing validates the options and returns a ring; call Init before use.
func NewRing(store Store, opts Options, now func() time.Time, log *slog.Logger) (*Ring, error) {
	if opts.Alg == "" {
		opts.Alg = ES256
	}
	if opts.ReloadInterval <= 0 {
		opts.ReloadInterval = min(opts.JWKSMaxAge/4, 10*time.Second)
	}
	errs := []error{CheckAlg(opts.Alg), CheckRotation(opts.RotationPeriod, opts.JWKSMaxAge)}
	if len(opts.KEK) != kekSize {
		errs = append(errs, fmt.Errorf("keys: KEK: want %d bytes, got %d", kekSize, len(opts.KEK)))
	}
	if opts.JWKSMaxAge <= 0 || opts.TokenTTL <= 0 {
		errs = append(errs, errors.New("keys: JWKS max-age and token TTL must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Ring{store: store, opts: opts, now: now, log: log}, nil
}

// Init creates the first keys of an empty database, performs whatever
// rotation is due, and loads the keys. A KEK that does not open the stored
// keys is an error and nothing is written.
func (r *Ring) Init(ctx context.Context) error {
	ks, err := r.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: load: %w", err)
	}
	for _, k := range ks {
		if _, err := unseal(r.opts.KEK, k); err != nil {
			return err
		}
	}
	if err := r.maintain(ctx, false); err != nil {
		return err
	}
	return r.Reload(ctx)
}

// Rotate makes the next key active now (admin request). It refuses while
// the next key has been published for less than the JWKS max-age, because
// a verifier with a cached JWKS would not know it yet.
func (r *Ring) Rotate(ctx context.Context) error {
	if err := r.maintain(ctx, true); err != nil {
		return err
	}
	return r.Reload(ctx)
}

// maintain applies what is due under the store's key lock; the decision is
// re-taken inside the lock, so of several instances only one rotates.
func (r *Ring) maintain(ctx context.Context, force bool) error {
	var rotated, created bool
	var result []models.SigningKey
	err := r.store.UpdateKeys(ctx, func(ks []models.SigningKey) ([]models.SigningKey, error) {
		p := plan{opts: r.opts, kek: r.opts.KEK, now: r.now()}
		for _, k := range ks {
			if _, err := unseal(r.opts.KEK, k); err != nil {
				return nil, err
			}
		}
		if !force && len(ks) > 0 && !p.due(ks) {
			rotated, result = false, ks
			return ks, nil
		}
		var err error
		created = len(ks) == 0
		result, rotated, err = p.apply(ks, force)
		return result, err
	})
	if err != nil {
		return fmt.Errorf("keys: rotate: %w", err)
	}
	if a := find(result, models.KeyActive); a != nil && rotated {
		msg := "signing key rotated"
		if created {
			msg = "first signing keys created"
		}
		r.log.Info(msg, "active_kid", a.ID, "alg", a.Alg)
		if !created && r.opts.OnRotate != nil {
			r.opts.OnRotate()
		}
	}
	return nil
}

// Reload reads the keys from the store and swaps the snapshot if they changed.
func (r *Ring) Reload(ctx context.Context) error {
	ks, err := r.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: load: %w", err)
	}
	now := r.now()
	version := versionOf(ks, now)
	if cur := r.snap.Load(); cur != nil && cur.version == version {
		return nil
	}
	snap, err := r.build(ks, now, version)
	if err != nil {
		return err
	}
	r.snap.Store(snap)
	return nil
}

// versionOf identifies the published key set at a time.
func versionOf(ks []models.SigningKey, now time.Time) string {
	h := sha256.New()
	for _, k := range ks {
		if published(k, now) {
			fmt.Fprintf(h, "%s/%s;", k.ID, k.State)
		}
	}
	return string(h.Sum(nil))
}

func published(k models.SigningKey, now time.Time) bool {
	return k.State != models.KeyRetired || now.Before(k.RemoveAt)
}

// build makes a snapshot: the active private key and the JWKS bytes.
func (r *Ring) build(ks []models.SigningKey, now time.Time, version string) (*snapshot, error) {
	active := find(ks, models.KeyActive)
	if active == nil {
		return nil, errors.New("keys: no active signing key")
	}
	priv, err := unseal(r.opts.KEK, *active)
	if err != nil {
		return nil, err
	}
	s := &snapshot{version: version, kid: active.ID, alg: jose.SignatureAlgorithm(active.Alg), priv: priv,
		public: map[string]jose.JSONWebKey{}}
	set := struct {
		Keys []json.RawMessage `json:"keys"`
	}{Keys: []json.RawMessage{}}
	for _, k := range ks {
		if !published(k, now) {
			continue
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(k.PublicJWK); err != nil {
			return nil, fmt.Errorf("keys: public key %s: %w", k.ID, err)
		}
		s.public[k.ID] = jwk
		set.Keys = append(set.Keys, k.PublicJWK)
		k.SealedKey = nil
		s.keys = append(s.keys, k)
	}
	if s.jwks, err = json.Marshal(set); err != nil {
		return nil, fmt.Errorf("keys: marshal JWKS: %w", err)
	}
	sum := sha256.Sum256(s.jwks)
	s.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	return s, nil
}

// Sign returns a compact JWS of payload signed by the active key, with the
// "typ" header set to typ. Safe for concurrent use; no database access.
func (r *Ring) Sign(_ context.Context, typ string, payload []byte) (string, error) {
	s := r.snap.Load()
	if s == nil {
		return "", errors.New("keys: ring not initialised")
	}
	signer, err := s.signer(typ)
	if err != nil {
		return "", err
	}
	return sign(signer, payload)
}

// signer returns the snapshot's signer for typ, built on first use.
func (s *snapshot) signer(typ string) (jose.Signer, error) {
	if v, ok := s.signers.Load(typ); ok {
		return v.(jose.Signer), nil
	}
	signer, err := newSigner(s.alg, s.kid, typ, s.priv)
	if err != nil {
		return nil, err
	}
	v, _ := s.signers.LoadOrStore(typ, signer)
	return v.(jose.Signer), nil
}

// JWKS returns the published key set as JSON and its strong ETag.
func (r *Ring) JWKS() (body []byte, etag string) {
	s := r.snap.Load()
	if s == nil {
		return []byte(`{"keys":[]}`), `"empty"`
	}
	return s.jwks, s.etag
}

// ActiveKeyID returns the kid that signs now ("" before Init).
func (r *Ring) ActiveKeyID() string {
	if s := r.snap.Load(); s != nil {
		return s.kid
	}
	return ""
}

// ActiveKeyAge is how long the signing key has been active.
func (r *Ring) ActiveKeyAge() time.Duration {
	if s := r.snap.Load(); s != nil {
		if a := find(s.keys, models.KeyActive); a != nil {
			return r.now().Sub(a.ActivateAt)
		}
	}
	return 0
}

// ReloadInterval is the bound on how long this instance takes to follow a
// rotation made by another one.
func (r *Ring) ReloadInterval() time.Duration { return r.opts.ReloadInterval }

// Keys returns the published keys, without private material.
func (r *Ring) Keys() []models.SigningKey {
	if s := r.snap.Load(); s != nil {
		return append([]models.SigningKey(nil), s.keys...)
	}
	return nil
}

// Run rotates on schedule and follows other instances' rotations until ctx
// is done. Every ReloadInterval it performs what is due (under the store's
// lock) and reloads the keys, so an instance signs with a retired key for
// at most that long after another instance rotated.
func (r *Ring) Run(ctx context.Context) {
	schedule.Run(ctx, schedule.Job{Every: r.opts.ReloadInterval, Do: func(ctx context.Context) {
		if err := r.Tick(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("signing keys: maintenance failed", "err", err)
		}
	}})
}

// Tick performs one round of Run: rotate or remove keys if due, then reload.
func (r *Ring) Tick(ctx context.Context) error {
	if s := r.snap.Load(); s == nil || (plan{opts: r.opts, now: r.now()}).due(s.keys) {
		if err := r.maintain(ctx, false); err != nil {
			return err
		}
	}
	return r.Reload(ctx)
}
