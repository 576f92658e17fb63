package resource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// keySet caches a JWKS: it honours Cache-Control max-age, refetches on an
// unknown kid at most once per minRefresh (one fetch in flight, the others
// wait for it), and keeps serving the last good set while the issuer is
// unreachable.
type keySet struct {
	url        string
	client     *http.Client
	minRefresh time.Duration
	now        func() time.Time

	mu        sync.RWMutex
	keys      map[string]jose.JSONWebKey
	expires   time.Time // when max-age runs out
	lastFetch time.Time // last attempt, successful or not
	fetches   int       // completed fetches, for tests

	group singleflight.Group
}

const maxJWKSBytes = 1 << 20

// key returns the key with the kid, fetching the JWKS when the cache is
// empty, expired, or does not know the kid (rate limited).
func (s *keySet) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	s.mu.RLock()
	k, ok := s.keys[kid]
	fresh := s.now().Before(s.expires)
	recent := s.now().Sub(s.lastFetch) < s.minRefresh
	loaded := s.keys != nil
	s.mu.RUnlock()
	if ok && fresh {
		return k, nil
	}
	if !ok && recent && loaded {
		return jose.JSONWebKey{}, fmt.Errorf("%w: unknown key id %q", ErrInvalidToken, kid)
	}
	if err := s.refresh(ctx); err != nil && !ok {
		return jose.JSONWebKey{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if k, ok = s.keys[kid]; !ok {
		return jose.JSONWebKey{}, fmt.Errorf("%w: unknown key id %q", ErrInvalidToken, kid)
	}
	return k, nil // possibly stale: the issuer may be down, the key still verifies
}

// refresh fetches the JWKS once for every concurrent caller.
func (s *keySet) refresh(ctx context.Context) error {
	ch := s.group.DoChan("jwks", func() (any, error) {
		return nil, s.fetch(context.WithoutCancel(ctx))
	})
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *keySet) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	started := s.now()
	s.mu.Lock()
	s.lastFetch = started
	s.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return fmt.Errorf("resource: JWKS request: %w", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: fetch JWKS: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: fetch JWKS: status %d", ErrUnavailable, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return fmt.Errorf("%w: read JWKS: %w", ErrUnavailable, err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return fmt.Errorf("resource: parse JWKS: %w", err)
	}
	keys := make(map[string]jose.JSONWebKey, len(set.Keys))
	for _, k := range set.Keys {
		if k.IsPublic() && k.KeyID != "" {
			keys[k.KeyID] = k
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
	s.expires = started.Add(maxAge(resp.Header.Get("Cache-Control")))
	s.fetches++
	return nil
}

// maxAge reads Cache-Control max-age; no-store, no-cache or none means 0.
func maxAge(cc string) time.Duration {
	for _, d := range strings.Split(cc, ",") {
		d = strings.TrimSpace(strings.ToLower(d))
		if d == "no-store" || d == "no-cache" {
			return 0
		}
		if v, ok := strings.CutPrefix(d, "max-age="); ok {
			if n, err := strconv.Atoi(strings.Trim(v, `"`)); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	return 0
}

// discover reads jwks_uri from the issuer's RFC 8414 metadata.
func discover(ctx context.Context, client *http.Client, issuer string) (string, error) {
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/oauth-authorization-server"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("resource: metadata request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("resource: fetch metadata: %w", err)
	}
	defer resp.Body.Close()
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("resource: fetch metadata: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKSBytes)).Decode(&meta); err != nil {
		return "", fmt.Errorf("resource: parse metadata: %w", err)
	}
	if meta.Issuer != issuer || meta.JWKSURI == "" {
		return "", errors.New("resource: metadata issuer does not match or has no jwks_uri")
	}
	return meta.JWKSURI, nil
}
