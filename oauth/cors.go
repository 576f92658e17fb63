package oauth

import (
	"context"
	"slices"
	"sync"
	"time"
)

// originCache keeps the registered browser origins briefly (CORS
// preflights come before every cross-origin token request).
type originCache struct {
	store   OriginStore
	mu      sync.Mutex
	origins []string
	loaded  time.Time
}

// OriginRegistered reports whether some client registered the browser
// origin (SPEC §6 CORS: preflights from such origins are answered).
func (s *Tokens) OriginRegistered(ctx context.Context, origin string) (bool, error) {
	return s.origins.registered(ctx, origin, s.now())
}

// registered reports whether the origin is in the list, read again when
// it is older than clientTTL.
func (c *originCache) registered(ctx context.Context, origin string, now time.Time) (bool, error) {
	if origin == "" {
		return false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded.IsZero() || now.Sub(c.loaded) >= clientTTL {
		o, err := c.store.AllowedOrigins(ctx)
		if err != nil {
			return false, fromStore(err, "load allowed origins")
		}
		c.origins, c.loaded = o, now
	}
	return slices.Contains(c.origins, origin), nil
}

// ClientAllowsOrigin reports whether the client registered the origin: only
// then may a browser page of that origin read the client's responses.
func (s *Tokens) ClientAllowsOrigin(ctx context.Context, clientID, origin string) bool {
	if origin == "" || clientID == "" {
		return false
	}
	c, err := s.clients.get(ctx, clientID, s.now())
	return err == nil && slices.Contains(c.AllowedOrigins, origin)
}

// forget makes the next lookup read the origins again (a client changed).
func (c *originCache) forget() {
	c.mu.Lock()
	c.loaded = time.Time{}
	c.mu.Unlock()
}
