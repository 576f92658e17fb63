package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonhq/baton/models"
)

// clientTTL bounds how long a cached client may be used when the store
// cannot tell of changes; clientsCheck is how often the cache asks the
// store whether any client changed (ClientsVersion): a change made by
// another process (the CLI, another instance) reaches this one within it.
const (
	clientTTL    = 5 * time.Second
	clientsCheck = 100 * time.Millisecond
)

// maxUnknownClients bounds the negative cache: past it, the cache starts
// over, so that a spray of made-up client ids cannot grow memory.
const maxUnknownClients = 4096

// clientCache keeps registered clients briefly, and remembers which secret
// each confidential client last authenticated with, as an HMAC under a key
// that lives only in this process. A correct secret costs one argon2id
// verification per process and stored hash, then a constant-time HMAC
// comparison; a wrong secret always pays the full argon2id cost, so guessing
// stays as slow as the hash makes it (and is throttled per address).
// Unknown client ids are remembered for clientTTL too (negative cache).
type clientCache struct {
	store    ClientStore
	hasher   *Hasher
	throttle *throttle // wrong secrets, per address
	log      *slog.Logger
	key      []byte
	mu       sync.RWMutex
	m        map[string]cachedClient
	unknown  map[string]time.Time // client id → when the store said it does not exist
	// forgotten counts forget calls: a load that began before one does
	// not refill the cache with what it read (it may predate a change).
	forgotten uint64
	// version is the store's ClientsVersion when last read (under mu), at
	// checked (Unix nanoseconds; the caller that moves it reads the store).
	version int64
	checked atomic.Int64
	// verify runs one argon2id verification for concurrent requests
	// presenting the same secret for the same client (a service starting
	// its workers at once), instead of one each in the hashing queue.
	verify flights
}

type cachedClient struct {
	client  models.Client
	loaded  time.Time
	mac     []byte // HMAC of the secret verified against client.SecretHash
	macHash string // the stored hash the MAC was verified against
}

func newClientCache(store ClientStore, h *Hasher, th *throttle, log *slog.Logger) *clientCache {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return &clientCache{store: store, hasher: h, throttle: th, log: log, key: k,
		m: map[string]cachedClient{}, unknown: map[string]time.Time{}}
}

func (c *clientCache) mac(secret string) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(secret))
	return h.Sum(nil)
}

// forget drops what the cache knows of a client (this process created it).
func (c *clientCache) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	delete(c.unknown, id)
	c.forgotten++
	c.mu.Unlock()
}

// sync asks the store, at most every clientsCheck, whether any client
// changed since the cache last asked; if so, every cached client is read
// again on its next use (its verified secret stays, if its hash did) and
// no unknown id is remembered. One caller asks; the others go on with the
// cache meanwhile. When the store cannot answer, clientTTL still bounds
// what the cache serves.
func (c *clientCache) sync(ctx context.Context, now time.Time) {
	last := c.checked.Load()
	if now.UnixNano()-last < int64(clientsCheck) || !c.checked.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	v, err := c.store.ClientsVersion(ctx)
	if err != nil {
		return
	}
	c.mu.Lock()
	if v != c.version {
		c.version = v
		for id, e := range c.m {
			e.loaded = time.Time{}
			c.m[id] = e
		}
		clear(c.unknown)
		c.forgotten++ // a load under way may have read the client before the change
	}
	c.mu.Unlock()
}

// get returns the client, from the cache while it is fresh; an id the
// store did not know within clientTTL is answered models.ErrNotFound
// without asking again.
func (c *clientCache) get(ctx context.Context, id string, now time.Time) (models.Client, error) {
	c.sync(ctx, now)
	c.mu.RLock()
	e, ok := c.m[id]
	missing, unknown := c.unknown[id]
	gen := c.forgotten
	c.mu.RUnlock()
	if ok && now.Sub(e.loaded) < clientTTL {
		return e.client, nil
	}
	if unknown && now.Sub(missing) < clientTTL {
		return models.Client{}, models.ErrNotFound
	}
	cl, err := c.store.Client(ctx, id)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return models.Client{}, err
	}
	c.mu.Lock()
	if c.forgotten != gen {
		// A change was committed here while we read: what we read may
		// predate it, so it is not cached, and read again.
		c.mu.Unlock()
		return c.store.Client(ctx, id)
	}
	if err != nil {
		if len(c.unknown) >= maxUnknownClients {
			clear(c.unknown)
		}
		c.unknown[id] = now
		c.mu.Unlock()
		return models.Client{}, err
	}
	delete(c.unknown, id)
	e = c.m[id]
	if e.macHash != cl.SecretHash {
		e.mac, e.macHash = nil, "" // the secret changed: verify afresh
	}
	e.client, e.loaded = cl, now
	c.m[id] = e
	c.mu.Unlock()
	return cl, nil
}

// secretOK verifies a confidential client's secret: a constant-time HMAC
// comparison when this secret was verified before against the same stored
// hash, argon2id otherwise. An argon2id verification is counted under the
// caller's address first (throttle.reserve), so that a flood of wrong
// secrets meets the throttle instead of the hasher; a correct secret takes
// its attempt back.
func (c *clientCache) secretOK(ctx context.Context, cl models.Client, secret, addr string) (bool, error) {
	mac := c.mac(secret)
	c.mu.RLock()
	e := c.m[cl.ID]
	c.mu.RUnlock()
	if e.macHash == cl.SecretHash && e.mac != nil && hmac.Equal(e.mac, mac) {
		return true, nil
	}
	// The shared verification runs while at least one caller waits for it.
	ok, err := c.verify.do(ctx, cl.ID+"\x00"+cl.SecretHash+"\x00"+string(mac), func(ctx context.Context) (bool, error) {
		var keys []string
		if addr != "" {
			keys = []string{clientAddrKey + addr}
			if err := c.throttle.reserve(ctx, keys); err != nil {
				return false, err
			}
		}
		ok, err := c.hasher.Verify(ctx, cl.SecretHash, secret)
		// Only a wrong secret keeps its reservation: a correct one, and an
		// attempt the hasher never ran (refused, or every caller gone
		// before its turn), take it back. The release outlives the
		// callers, so that a correct secret never counts as a failure.
		if keys != nil && (ok || err != nil) {
			if rerr := c.throttle.release(context.WithoutCancel(ctx), nil, keys); rerr != nil {
				c.log.WarnContext(ctx, "release client attempt", "err", rerr)
			}
		}
		return ok, err
	})
	if err != nil || !ok {
		return false, err
	}
	c.mu.Lock()
	e = c.m[cl.ID]
	e.mac, e.macHash = mac, cl.SecretHash
	c.m[cl.ID] = e
	c.mu.Unlock()
	return true, nil
}

// flights shares one run of a function among the concurrent callers with
// the same key, like singleflight, but the run's context is cancelled when
// the last caller waiting for it gives up: no work for callers that are gone.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done    chan struct{}
	ok      bool
	err     error
	waiters int
	cancel  context.CancelFunc
}

// do runs fn once for the concurrent callers of key and returns its result,
// or ctx's error when the caller gives up first.
func (g *flights) do(ctx context.Context, key string, fn func(context.Context) (bool, error)) (bool, error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = map[string]*flight{}
	}
	f := g.m[key]
	if f == nil {
		// The run keeps the first caller's values (logging), not its
		// cancellation: it ends when the last waiter leaves.
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		g.m[key] = f
		go func() {
			ok, err := fn(runCtx)
			g.mu.Lock()
			f.ok, f.err = ok, err
			if g.m[key] == f {
				delete(g.m, key)
			}
			g.mu.Unlock()
			cancel()
			close(f.done)
		}()
	}
	f.waiters++
	g.mu.Unlock()
	select {
	case <-f.done:
		return f.ok, f.err
	case <-ctx.Done():
		g.mu.Lock()
		if f.waiters--; f.waiters == 0 {
			f.cancel()
			if g.m[key] == f {
				delete(g.m, key) // a later caller starts afresh
			}
		}
		g.mu.Unlock()
		return false, ctx.Err()
	}
}
