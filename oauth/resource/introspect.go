package resource

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// IntrospectionConfig enables online checks against baton's RFC 7662
// endpoint, authenticated as a confidential client.
type IntrospectionConfig struct {
	URL          string
	ClientID     string
	ClientSecret string
	// CacheTTL is how long an answer is reused; default 5 s. It bounds how
	// late a revocation is noticed.
	CacheTTL time.Duration
}

type introspector struct {
	cfg    IntrospectionConfig
	client *http.Client
	now    func() time.Time
	mu     sync.Mutex
	cache  map[[32]byte]cached
}

type cached struct {
	active bool
	until  time.Time
}

func newIntrospector(cfg IntrospectionConfig, client *http.Client, now func() time.Time) *introspector {
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = 5 * time.Second
	}
	return &introspector{cfg: cfg, client: client, now: now, cache: map[[32]byte]cached{}}
}

// check asks baton whether the token is active, caching the answer briefly.
func (in *introspector) check(ctx context.Context, token string) error {
	key := sha256.Sum256([]byte(token))
	now := in.now()
	in.mu.Lock()
	c, ok := in.cache[key]
	if len(in.cache) > 10000 { // bounded: drop everything expired
		for k, v := range in.cache {
			if !now.Before(v.until) {
				delete(in.cache, k)
			}
		}
	}
	in.mu.Unlock()
	if !ok || !now.Before(c.until) {
		active, err := in.ask(ctx, token)
		if err != nil {
			return err
		}
		c = cached{active: active, until: now.Add(in.cfg.CacheTTL)}
		in.mu.Lock()
		in.cache[key] = c
		in.mu.Unlock()
	}
	if !c.active {
		return fmt.Errorf("%w: revoked", ErrInvalidToken)
	}
	return nil
}

func (in *introspector) ask(ctx context.Context, token string) (bool, error) {
	body := url.Values{"token": {token}, "token_type_hint": {"access_token"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.cfg.URL, strings.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("resource: introspection request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(in.cfg.ClientID), url.QueryEscape(in.cfg.ClientSecret))
	resp, err := in.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("%w: introspect: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("%w: introspect: status %d", ErrUnavailable, resp.StatusCode)
	}
	var out struct {
		Active bool `json:"active"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return false, fmt.Errorf("%w: introspect: %w", ErrUnavailable, err)
	}
	return out.Active, nil
}
