// Package oauth holds baton's protocol rules: the grants of the token
// endpoint (RFC 6749), refresh-token rotation with reuse detection, sessions
// and RFC 9068 access tokens. It knows nothing of HTTP or of the database
// driver: handlers parse requests into its types, and a store (each type
// declares the methods it needs, store.go) persists. The work is split by
// job: Tokens (the token endpoint, introspection, revocation, userinfo and
// bearer tokens), Authorizations (the authorization code flow's pages),
// Admin (users, clients, roles and sessions, for the admin API and the CLI)
// and Maintenance (expiry and purges); they share one Shared.
package oauth

import (
	"context"
	"errors"
	"log/slog"
	"time"
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

// shared holds what the oauth types share, built once by NewShared and
// shared by pointer: the options, clock and logger, the password hasher,
// the client and origin caches, the login throttle and the page and
// refresh-token keys.
type shared struct {
	users    UserStore // the logins of the password grant and of the login page
	hasher   *Hasher
	clients  *clientCache
	origins  *originCache
	throttle *throttle
	opts     Options
	pageKey  []byte
	// refreshKey mints and verifies refresh tokens.
	refreshKey refreshKey
	now        func() time.Time
	log        *slog.Logger
}

// Shared is what Tokens, Authorizations, Admin and Maintenance share; build
// it once with NewShared and hand the same one to each. It is safe for
// concurrent use.
type Shared struct{ sh *shared }

// Hasher returns the password hasher (cmd sizes its memory and reports its
// queue).
func (s *Shared) Hasher() *Hasher { return s.sh.hasher }

// Keys signs access tokens and verifies the ones presented back to baton.
type Keys interface {
	Signer
	Verifier
}

// NewShared checks opts, fills in their defaults and builds the shared
// pieces on store.
func NewShared(store SharedStore, opts Options, now func() time.Time, log *slog.Logger) (*Shared, error) {
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
	th := &throttle{store: store, now: now, log: log, metrics: opts.Metrics}
	sh := &shared{users: store, hasher: h, throttle: th, opts: opts, now: now, log: log, pageKey: opts.PageKey,
		clients: newClientCache(store, h, th, log), origins: &originCache{store: store}}
	if len(sh.pageKey) == 0 {
		sh.pageKey = []byte(newOpaque(32))
	}
	sh.refreshKey = opts.RefreshKey
	if len(sh.refreshKey) == 0 {
		sh.refreshKey = newNonce()
	}
	return &Shared{sh: sh}, nil
}
