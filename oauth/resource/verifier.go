// Package resource lets a resource server (an API) accept baton's access
// tokens: a Verifier checks RFC 9068 JWTs offline against baton's JWKS, and
// Middleware protects net/http handlers with RFC 6750 errors. The Gin
// adapter is in resource/ginresource. It imports no other baton package.
package resource

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Errors of Verify. Expired tokens match both ErrExpired and ErrInvalidToken.
var (
	ErrInvalidToken = errors.New("resource: invalid token")
	ErrExpired      = fmt.Errorf("%w: expired", ErrInvalidToken)
	ErrUnavailable  = errors.New("resource: issuer unavailable")
)

// Config configures a Verifier. Issuer and Audience are required.
type Config struct {
	Issuer   string // expected "iss"
	Audience string // expected in "aud"
	// JWKSURL is the issuer's JWKS; empty: discovered from its metadata.
	JWKSURL string
	// Algorithms allowed; default ES256, RS256, EdDSA. "none" and HMAC are
	// never accepted.
	Algorithms []string
	// Leeway for exp, nbf and iat; default 30 s.
	Leeway time.Duration
	// MinRefreshInterval is the least time between two fetches of the
	// JWKS, whether an unknown kid or a stale set asks; default 10 s.
	MinRefreshInterval time.Duration
	// MinKeyCacheAge is the least time the JWKS is used before it is
	// refreshed, whatever its Cache-Control says (a shorter max-age, none,
	// no-cache); default 15 min, as jwx. MaxKeyCacheAge caps a longer
	// max-age; default 24 h. Refreshing a stale set never delays a request
	// whose key is held: it is answered from the cache meanwhile.
	MinKeyCacheAge time.Duration
	MaxKeyCacheAge time.Duration
	HTTPClient     *http.Client     // default: 10 s timeout
	Now            func() time.Time // default time.Now
	// Introspection, when set, asks baton about every token too (online
	// mode), for deployments that need revocation to take effect at once.
	Introspection *IntrospectionConfig
}

// Verifier checks access tokens. It is safe for concurrent use.
type Verifier struct {
	cfg   Config
	algs  []jose.SignatureAlgorithm
	keys  *keySet
	intro *introspector
}

// NewVerifier validates the configuration and, without a JWKS URL,
// discovers it from the issuer's metadata.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("resource: issuer and audience are required")
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.MinRefreshInterval == 0 {
		cfg.MinRefreshInterval = 10 * time.Second
	}
	if cfg.MinKeyCacheAge == 0 {
		cfg.MinKeyCacheAge = 15 * time.Minute
	}
	if cfg.MaxKeyCacheAge == 0 {
		cfg.MaxKeyCacheAge = max(24*time.Hour, cfg.MinKeyCacheAge)
	}
	if cfg.MaxKeyCacheAge < cfg.MinKeyCacheAge {
		return nil, errors.New("resource: MaxKeyCacheAge is below MinKeyCacheAge")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []string{"ES256", "RS256", "EdDSA"}
	}
	v := &Verifier{cfg: cfg}
	for _, a := range cfg.Algorithms {
		switch a {
		case "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA":
			v.algs = append(v.algs, jose.SignatureAlgorithm(a))
		default:
			return nil, fmt.Errorf("resource: algorithm %q is not allowed", a)
		}
	}
	if cfg.JWKSURL == "" {
		u, err := discover(ctx, cfg.HTTPClient, cfg.Issuer)
		if err != nil {
			return nil, err
		}
		cfg.JWKSURL = u
		v.cfg.JWKSURL = u
	}
	v.keys = &keySet{url: cfg.JWKSURL, client: cfg.HTTPClient, minRefresh: cfg.MinRefreshInterval,
		minAge: cfg.MinKeyCacheAge, maxAge: cfg.MaxKeyCacheAge, now: cfg.Now}
	if cfg.Introspection != nil {
		v.intro = newIntrospector(*cfg.Introspection, cfg.HTTPClient, cfg.Now)
	}
	return v, nil
}

// Claims are the claims of a verified access token (RFC 9068 §2.2).
type Claims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	ClientID  string           `json:"client_id"`
	Scope     string           `json:"scope"`
	ID        string           `json:"jti"`
	SessionID string           `json:"sid"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
}

// Scopes returns the token's scopes.
func (c *Claims) Scopes() []string { return strings.Fields(c.Scope) }

// HasScope reports whether the token carries the scope.
func (c *Claims) HasScope(s string) bool { return slices.Contains(c.Scopes(), s) }

// User reports whether the token was issued to a user (it has a session),
// as opposed to a client acting for itself.
func (c *Claims) User() bool { return c.SessionID != "" }

// Verify checks a token: an allowed algorithm, typ "at+jwt", a known key,
// the signature, iss, aud, exp, nbf and iat (with leeway), and in online
// mode that baton still considers it active.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	tok, err := jwt.ParseSigned(token, v.algs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if len(tok.Headers) != 1 {
		return nil, fmt.Errorf("%w: want exactly one signature", ErrInvalidToken)
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(strings.TrimPrefix(strings.ToLower(typ), "application/"), "at+jwt") {
		return nil, fmt.Errorf("%w: typ %q is not at+jwt", ErrInvalidToken, typ)
	}
	key, err := v.keys.key(ctx, h.KeyID)
	if err != nil {
		return nil, err
	}
	if key.Algorithm != "" && key.Algorithm != h.Algorithm {
		return nil, fmt.Errorf("%w: alg %s does not match the key", ErrInvalidToken, h.Algorithm)
	}
	var c Claims
	if err := tok.Claims(key.Key, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if err := v.validate(&c); err != nil {
		return nil, err
	}
	if v.intro != nil {
		if err := v.intro.check(ctx, token); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

func (v *Verifier) validate(c *Claims) error {
	if c.Expiry == nil || c.IssuedAt == nil || c.Subject == "" || c.ClientID == "" {
		return fmt.Errorf("%w: exp, iat, sub and client_id are required", ErrInvalidToken)
	}
	err := jwt.Claims{Issuer: c.Issuer, Audience: c.Audience, Expiry: c.Expiry, IssuedAt: c.IssuedAt, NotBefore: c.NotBefore}.
		ValidateWithLeeway(jwt.Expected{Issuer: v.cfg.Issuer, AnyAudience: jwt.Audience{v.cfg.Audience}, Time: v.cfg.Now()}, v.cfg.Leeway)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return ErrExpired
	case err != nil:
		return fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return nil
}
