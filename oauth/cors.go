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
	mu      sync.Mutex
	origins []string
	loaded  time.Time
}

// OriginRegistered reports whether some client registered the browser
// origin (SPEC §6 CORS: preflights from such origins are answered).
func (s *Service) OriginRegistered(ctx context.Context, origin string) (bool, error) {
	if origin == "" {
		return false, nil
	}
	now := s.now()
	s.origins.mu.Lock()
	defer s.origins.mu.Unlock()
	if s.origins.loaded.IsZero() || now.Sub(s.origins.loaded) >= clientTTL {
		o, err := s.store.AllowedOrigins(ctx)
		if err != nil {
			return false, fromStore(err, "load allowed origins")
		}
		s.origins.origins, s.origins.loaded = o, now
	}
	return slices.Contains(s.origins.origins, origin), nil
}

// ClientAllowsOrigin reports whether the client registered the origin: only
// then may a browser page of that origin read the client's responses.
func (s *Service) ClientAllowsOrigin(ctx context.Context, clientID, origin string) bool {
	if origin == "" || clientID == "" {
		return false
	}
	c, err := s.client(ctx, clientID, s.now())
	return err == nil && slices.Contains(c.AllowedOrigins, origin)
}

// forget makes the next lookup read the origins again (a client changed).
func (c *originCache) forget() {
	c.mu.Lock()
	c.loaded = time.Time{}
	c.mu.Unlock()
}
