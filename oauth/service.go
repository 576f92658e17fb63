// Package oauth holds baton's protocol rules: the grants of the token
// endpoint (RFC 6749), refresh-token rotation with reuse detection, sessions
// and RFC 9068 access tokens. It knows nothing of HTTP or of the database
// driver: handlers parse requests into its types, and models.Store persists.
package oauth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/batonhq/baton/models"
)

// Signer signs a JWS payload with the current signing key, setting the "typ"
// header to typ. It is safe for concurrent use.
type Signer interface {
	Sign(ctx context.Context, typ string, payload []byte) (string, error)
}

// Options are the protocol settings (SPEC §1), copied from configuration by cmd.
type Options struct {
	Issuer            string        // "iss" of access tokens
	Audience          string        // "aud" of access tokens; the issuer when empty
	AccessTokenTTL    time.Duration // lifetime of access tokens
	RefreshIdleTTL    time.Duration // a session unused this long ends
	SessionMaxTTL     time.Duration // absolute lifetime of a session
	RefreshReuseGrace time.Duration // window for concurrent presentations of one refresh token
	// AdminScope is BATON_ADMIN_SCOPE: a user token carries it only for a
	// user with RoleAdmin who asked for it (SPEC §7). Empty: "admin".
	AdminScope string
	// MaxSessionsPerUser > 0 ends a user's oldest sessions beyond it at login.
	MaxSessionsPerUser int
	// Metrics receives events for counters; nil counts nothing.
	Metrics Metrics
	// AuditRetention is how long an ended session is kept (with its end
	// reason) before the purge deletes it. Zero: 30 days.
	AuditRetention time.Duration
	Argon2         Argon2Params // zero: the default cost
	HashCPUShare   float64      // share of the CPUs hashing may take; zero: HashCPUShare
	// HashMemory bounds the argon2id memory live at once (bytes); zero:
	// the CPU budget's slots bound it.
	HashMemory int64
	// HashIdle is called after the last hash of a burst; nil: nothing.
	HashIdle func()
	// HashCollect is called after each hash, before its slot takes the
	// next, to free the hash's memory (HashLimits.Collect); nil: nothing.
	HashCollect func()
	// PageKey keys the CSRF tokens and login tickets of the login and
	// consent pages; every instance must share it. Empty: a random key
	// (one instance only).
	PageKey []byte
	// RefreshKey authenticates refresh tokens (K_refresh, refresh_token.go);
	// every instance must share it. Empty: a random key (one instance only).
	RefreshKey []byte
}

// Service implements the token endpoint's grants and the account operations
// of the CLI. It is safe for concurrent use.
type Service struct {
	store    models.Store
	signer   Signer
	verifier Verifier
	hasher   *Hasher
	clients  *clientCache
	origins  originCache
	opts     Options
	pageKey  []byte
	// refreshKey mints and verifies refresh tokens.
	refreshKey refreshKey
	now        func() time.Time
	log        *slog.Logger
}

// Keys signs access tokens and verifies the ones presented back to baton.
type Keys interface {
	Signer
	Verifier
}

// NewService returns a Service. keys may be nil for a Service used only for
// account operations (AddUser, AddClient).
func NewService(store models.Store, keys Keys, opts Options, now func() time.Time, log *slog.Logger) (*Service, error) {
	if opts.Audience == "" {
		opts.Audience = opts.Issuer
	}
	if opts.Metrics == nil {
		opts.Metrics = noMetrics{}
	}
	if opts.AdminScope == "" {
		opts.AdminScope = "admin"
	}
	if opts.AuditRetention <= 0 {
		opts.AuditRetention = 30 * 24 * time.Hour
	}
	switch {
	case opts.Issuer == "":
		return nil, errors.New("oauth: issuer is required")
	case opts.AccessTokenTTL <= 0 || opts.RefreshIdleTTL <= 0 || opts.SessionMaxTTL <= 0:
		return nil, errors.New("oauth: token lifetimes must be positive")
	case opts.RefreshReuseGrace < 0:
		return nil, errors.New("oauth: refresh reuse grace must not be negative")
	}
	h, err := NewHasher(opts.Argon2, HashLimits{CPUShare: opts.HashCPUShare, Memory: opts.HashMemory, Idle: opts.HashIdle, Collect: opts.HashCollect, Waited: opts.Metrics.HashWaited})
	if err != nil {
		return nil, err
	}
	svc := &Service{store: store, hasher: h, clients: newClientCache(), opts: opts, now: now, log: log, pageKey: opts.PageKey}
	if len(svc.pageKey) == 0 {
		svc.pageKey = []byte(newOpaque(32))
	}
	svc.refreshKey = opts.RefreshKey
	if len(svc.refreshKey) == 0 {
		svc.refreshKey = newNonce()
	}
	if keys != nil {
		svc.signer, svc.verifier = keys, keys
	}
	return svc, nil
}

// Hasher returns the service's password hasher.
func (s *Service) Hasher() *Hasher { return s.hasher }
