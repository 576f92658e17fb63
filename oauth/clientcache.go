package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/batonhq/baton/models"
)

// clientTTL bounds how long a cached client may be used: clients change
// rarely, and every instance sees a change within this time.
const clientTTL = 5 * time.Second

// clientCache keeps registered clients briefly, and remembers which secret
// each confidential client last authenticated with, as an HMAC under a key
// that lives only in this process. A correct secret costs one argon2id
// verification per process and stored hash, then a constant-time HMAC
// comparison; a wrong secret always pays the full argon2id cost, so guessing
// stays as slow as the hash makes it.
type clientCache struct {
	key []byte
	mu  sync.RWMutex
	m   map[string]cachedClient
	// verify runs one argon2id verification for concurrent requests
	// presenting the same secret for the same client (a service starting
	// its workers at once), instead of one each in the hashing queue.
	verify singleflight.Group
}

type cachedClient struct {
	client  models.Client
	loaded  time.Time
	mac     []byte // HMAC of the secret verified against client.SecretHash
	macHash string // the stored hash the MAC was verified against
}

func newClientCache() *clientCache {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return &clientCache{key: k, m: map[string]cachedClient{}}
}

func (c *clientCache) mac(secret string) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(secret))
	return h.Sum(nil)
}

// client returns the client, from the cache while it is fresh.
func (s *Service) client(ctx context.Context, id string, now time.Time) (models.Client, error) {
	s.clients.mu.RLock()
	e, ok := s.clients.m[id]
	s.clients.mu.RUnlock()
	if ok && now.Sub(e.loaded) < clientTTL {
		return e.client, nil
	}
	cl, err := s.store.Client(ctx, id)
	if err != nil {
		return models.Client{}, err
	}
	s.clients.mu.Lock()
	e = s.clients.m[id]
	if e.macHash != cl.SecretHash {
		e.mac, e.macHash = nil, "" // the secret changed: verify afresh
	}
	e.client, e.loaded = cl, now
	s.clients.m[id] = e
	s.clients.mu.Unlock()
	return cl, nil
}

// secretOK verifies a confidential client's secret: a constant-time HMAC
// comparison when this secret was verified before against the same stored
// hash, argon2id otherwise.
func (s *Service) secretOK(ctx context.Context, cl models.Client, secret string) (bool, error) {
	mac := s.clients.mac(secret)
	s.clients.mu.RLock()
	e := s.clients.m[cl.ID]
	s.clients.mu.RUnlock()
	if e.macHash == cl.SecretHash && e.mac != nil && hmac.Equal(e.mac, mac) {
		return true, nil
	}
	// The shared verification outlives a caller that gives up; each caller
	// waits for it only as long as its own request lasts.
	done := s.clients.verify.DoChan(cl.ID+"\x00"+cl.SecretHash+"\x00"+string(mac), func() (any, error) {
		return s.hasher.Verify(context.WithoutCancel(ctx), cl.SecretHash, secret)
	})
	var r singleflight.Result
	select {
	case r = <-done:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	if r.Err != nil || !r.Val.(bool) {
		return false, r.Err
	}
	s.clients.mu.Lock()
	e = s.clients.m[cl.ID]
	e.mac, e.macHash = mac, cl.SecretHash
	s.clients.m[cl.ID] = e
	s.clients.mu.Unlock()
	return true, nil
}
