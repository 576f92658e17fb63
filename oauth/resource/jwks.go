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
)

// keySet caches a JWKS. A request for a key it holds never waits on the
// network: once the set is older than its max-age (Cache-Control, clamped
// to [minAge, maxAge]; minAge without one) the request is answered from the
// cache and one refresh starts in the background, conditional on the ETag
// (a 304 keeps the keys and renews their age). An unknown kid waits for a
// fetch, bounded by the caller's context. Fetches never run concurrently
// (callers share the one in flight) and start at most once per minRefresh,
// so neither unknown kids nor an issuer that is down can make the verifier
// hammer it; while it is down the last good set keeps verifying.
type keySet struct {
	url        string
	client     *http.Client
	minRefresh time.Duration // least time between two fetches
	minAge     time.Duration // least time a set is used before a refresh
	maxAge     time.Duration // most time a set is used before a refresh
	now        func() time.Time

	mu        sync.RWMutex
	keys      map[string]jose.JSONWebKey
	etag      string        // of the set held, for If-None-Match
	expires   time.Time     // when the set held is due for a refresh
	lastFetch time.Time     // start of the last fetch, successful or not
	lastErr   error         // of the last fetch
	inflight  chan struct{} // closed when the fetch in flight ends; nil: none
}

const (
	maxJWKSBytes = 1 << 20
	fetchTimeout = 10 * time.Second
)

// key returns the key with the kid. A held key comes from the cache at
// once; an unknown kid may wait for a fetch.
func (s *keySet) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	s.mu.RLock()
	k, ok := s.keys[kid]
	fresh := s.now().Before(s.expires)
	s.mu.RUnlock()
	if ok && fresh {
		return k, nil
	}
	s.mu.Lock()
	k, ok = s.keys[kid]
	now := s.now()
	mayStart := s.lastFetch.IsZero() || now.Sub(s.lastFetch) >= s.minRefresh
	switch {
	case ok: // stale: refresh in the background, answer from the cache
		if s.inflight == nil && mayStart && !now.Before(s.expires) {
			s.startLocked()
		}
		s.mu.Unlock()
		return k, nil
	case s.inflight == nil && !mayStart:
		err := s.lastErr
		s.mu.Unlock()
		if err == nil {
			err = fmt.Errorf("%w: unknown key id %q", ErrInvalidToken, kid)
		}
		return jose.JSONWebKey{}, err
	}
	done := s.inflight
	if done == nil {
		done = s.startLocked()
	}
	s.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return jose.JSONWebKey{}, fmt.Errorf("%w: waiting for the JWKS: %w", ErrUnavailable, ctx.Err())
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if k, ok = s.keys[kid]; ok {
		return k, nil
	}
	if s.lastErr != nil {
		return jose.JSONWebKey{}, s.lastErr
	}
	return jose.JSONWebKey{}, fmt.Errorf("%w: unknown key id %q", ErrInvalidToken, kid)
}

// startLocked starts a fetch in the background; s.mu is held and no fetch
// is in flight. It returns the channel closed when the fetch ends.
func (s *keySet) startLocked() chan struct{} {
	done := make(chan struct{})
	s.inflight = done
	s.lastFetch = s.now()
	etag := ""
	if s.keys != nil {
		etag = s.etag
	}
	go func() {
		err := s.fetch(s.lastFetch, etag)
		s.mu.Lock()
		s.lastErr = err
		s.inflight = nil
		s.mu.Unlock()
		close(done)
	}()
	return done
}

// fetch gets the JWKS, conditionally when etag is set, and stores it.
func (s *keySet) fetch(started time.Time, etag string) error {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return fmt.Errorf("resource: JWKS request: %w", err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: fetch JWKS: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	expires := started.Add(min(max(maxAge(resp.Header.Get("Cache-Control")), s.minAge), s.maxAge))
	if resp.StatusCode == http.StatusNotModified && etag != "" {
		s.mu.Lock()
		s.expires = expires
		s.mu.Unlock()
		return nil
	}
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
	s.etag = resp.Header.Get("ETag")
	s.expires = expires
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
