package resource_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/batonhq/baton/oauth/resource"
)

// jwksServer publishes one ES256 key as "k1". It counts its fetches and
// 304s, records If-None-Match, and can be made to hang.
type jwksServer struct {
	*httptest.Server
	key          *ecdsa.PrivateKey
	cacheControl string // "" sends none
	etag         string // "" sends none
	fetches      atomic.Int64
	notModified  atomic.Int64
	ifNoneMatch  atomic.Value // string
	down         atomic.Bool
	hang         atomic.Bool   // when set, a fetch blocks until release is closed
	entered      chan struct{} // one value per hanging fetch
	release      chan struct{}
}

func startJWKS(t *testing.T, cacheControl, etag string) *jwksServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &jwksServer{key: key, cacheControl: cacheControl, etag: etag, entered: make(chan struct{}, 100), release: make(chan struct{})}
	body, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.ifNoneMatch.Store(r.Header.Get("If-None-Match"))
		if s.hang.Load() {
			s.entered <- struct{}{}
			<-s.release
		}
		if s.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if s.cacheControl != "" {
			w.Header().Set("Cache-Control", s.cacheControl)
		}
		if s.etag != "" {
			w.Header().Set("ETag", s.etag)
			if r.Header.Get("If-None-Match") == s.etag {
				s.notModified.Add(1)
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	t.Cleanup(func() { // before Close, which waits for a hanging handler
		select {
		case <-s.release:
		default:
			close(s.release)
		}
	})
	return s
}

// token signs a valid access token for a day with the key under kid.
func (s *jwksServer) token(t *testing.T, kid string, now time.Time) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: s.key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(map[string]any{"iss": "https://iss", "aud": "api", "sub": "u", "client_id": "c",
		"iat": now.Unix(), "exp": now.Add(24 * time.Hour).Unix()}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (s *jwksServer) verifier(t *testing.T, c *clock) *resource.Verifier {
	t.Helper()
	v, err := resource.NewVerifier(context.Background(), resource.Config{Issuer: "https://iss", Audience: "api",
		JWKSURL: s.URL, Now: c.Now, MinRefreshInterval: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestJWKSWithoutCacheControl: a JWKS served without Cache-Control is kept
// for the minimum cache age (15 min), not refetched for every token.
func TestJWKSWithoutCacheControl(t *testing.T) {
	srv := startJWKS(t, "", "")
	c := &clock{t: time.Now()}
	v := srv.verifier(t, c)
	tok := srv.token(t, "k1", c.Now())
	for i := range 1000 {
		if i%100 == 99 {
			c.Advance(time.Minute) // 9 minutes in all
		}
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for 1000 verifications of a known kid, want 1", n)
	}
}

// TestJWKSStaleKeysDoNotWait: with the keys stale and the issuer hanging,
// verifications of a held kid return at once from the cache (the issuer is
// still blocked when they are done), and exactly one refresh is in flight.
func TestJWKSStaleKeysDoNotWait(t *testing.T) {
	srv := startJWKS(t, "max-age=60", "")
	c := &clock{t: time.Now()}
	v := srv.verifier(t, c)
	tok := srv.token(t, "k1", c.Now())
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	srv.hang.Store(true)
	c.Advance(16 * time.Minute) // past the minimum cache age: stale
	done := make(chan error, 50)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Verify(context.Background(), tok)
			done <- err
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(5 * time.Second): // only reached when a verification waits on the issuer
		t.Fatal("verifications of a held key waited for the hanging issuer")
	}
	close(done)
	for err := range done {
		if err != nil {
			t.Fatalf("stale key while the issuer hangs: %v", err)
		}
	}
	<-srv.entered // the background refresh reached the issuer, which still hangs
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2: the first and one refresh in flight", n)
	}
}

// TestJWKSConditionalRefresh: a refresh sends If-None-Match with the ETag;
// the 304 keeps the keys and renews their age.
func TestJWKSConditionalRefresh(t *testing.T) {
	srv := startJWKS(t, "max-age=60", `"v1"`)
	c := &clock{t: time.Now()}
	v := srv.verifier(t, c)
	tok := srv.token(t, "k1", c.Now())
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	if got := srv.ifNoneMatch.Load(); got != "" {
		t.Fatalf("first fetch sent If-None-Match %q", got)
	}
	c.Advance(16 * time.Minute)
	if _, err := v.Verify(t.Context(), tok); err != nil { // starts the refresh
		t.Fatal(err)
	}
	// An unknown kid waits for the fetch in flight (or finds it done).
	if _, err := v.Verify(t.Context(), srv.token(t, "unknown", c.Now())); !errors.Is(err, resource.ErrInvalidToken) {
		t.Fatalf("unknown kid: %v", err)
	}
	if got := srv.ifNoneMatch.Load(); got != `"v1"` || srv.notModified.Load() != 1 || srv.fetches.Load() != 2 {
		t.Fatalf("refresh sent If-None-Match %q; %d not modified of %d fetches, want 1 of 2", got, srv.notModified.Load(), srv.fetches.Load())
	}
	c.Advance(14 * time.Minute) // within the renewed age
	for range 100 {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatalf("after the 304: %v", err)
		}
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2: the 304 renews the age", n)
	}
}

// TestJWKSUnknownKidBursts: a burst of unknown kids causes one fetch, a
// second burst within the minimum interval none, known kids meanwhile none;
// an issuer down from the start is asked once per interval however many
// tokens arrive, and each gets ErrUnavailable.
func TestJWKSUnknownKidBursts(t *testing.T) {
	srv := startJWKS(t, "", "")
	c := &clock{t: time.Now()}
	v := srv.verifier(t, c)
	known := srv.token(t, "k1", c.Now())
	unknown := make([]string, 50)
	for i := range unknown {
		unknown[i] = srv.token(t, fmt.Sprintf("new-%d", i), c.Now())
	}
	burst := func(want error) {
		t.Helper()
		var wg sync.WaitGroup
		for _, tok := range unknown {
			wg.Add(2)
			go func() {
				defer wg.Done()
				if _, err := v.Verify(context.Background(), tok); !errors.Is(err, want) {
					t.Errorf("unknown kid: %v, want %v", err, want)
				}
			}()
			go func() {
				defer wg.Done()
				_, _ = v.Verify(context.Background(), known)
			}()
		}
		wg.Wait()
	}
	srv.down.Store(true)
	burst(resource.ErrUnavailable)
	burst(resource.ErrUnavailable)
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("issuer down: %d fetches for two bursts within the interval, want 1", n)
	}
	srv.down.Store(false)
	c.Advance(10 * time.Second)
	burst(resource.ErrInvalidToken)
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2: one for the burst", n)
	}
	burst(resource.ErrInvalidToken)
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2: none for a burst within the interval", n)
	}
	if _, err := v.Verify(t.Context(), known); err != nil {
		t.Fatal(err)
	}
}

// TestJWKSUnknownKidBoundedByContext: a request with an unknown kid waits
// for the hanging issuer no longer than its context allows.
func TestJWKSUnknownKidBoundedByContext(t *testing.T) {
	srv := startJWKS(t, "", "")
	srv.hang.Store(true)
	c := &clock{t: time.Now()}
	v := srv.verifier(t, c)
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-srv.entered; cancel() }()
	if _, err := v.Verify(ctx, srv.token(t, "k1", c.Now())); !errors.Is(err, resource.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want ErrUnavailable and context.Canceled", err)
	}
}

// TestVerifyRefusesJSONSerialization: only the compact serialization is an
// access token; the same signature in JWS JSON (flattened or general) is
// refused.
func TestVerifyRefusesJSONSerialization(t *testing.T) {
	srv := startJWKS(t, "", "")
	c := &clock{t: time.Now()}
	v := srv.verifier(t, c)
	compact := srv.token(t, "k1", c.Now())
	if _, err := v.Verify(t.Context(), compact); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	flattened := jws.FullSerialize() // one signature: flattened
	general := generalize(t, flattened)
	for name, tok := range map[string]string{"general": general, "flattened": flattened} {
		if _, err := jose.ParseSignedJSON(tok, []jose.SignatureAlgorithm{jose.ES256}); err != nil {
			t.Fatalf("%s: go-jose does not parse it: %v", name, err)
		}
		if _, err := v.Verify(t.Context(), tok); !errors.Is(err, resource.ErrInvalidToken) {
			t.Errorf("%s JSON serialization: %v, want ErrInvalidToken", name, err)
		}
	}
}

// generalize turns a flattened JWS JSON serialization into the general
// one (RFC 7515 §7.2.1): the same payload and signature.
func generalize(t *testing.T, flattened string) string {
	t.Helper()
	var f map[string]any
	if err := json.Unmarshal([]byte(flattened), &f); err != nil || f["signature"] == nil {
		t.Fatalf("flattened serialization %s: %v", flattened, err)
	}
	payload := f["payload"]
	delete(f, "payload")
	b, _ := json.Marshal(map[string]any{"payload": payload, "signatures": []any{f}})
	return string(b)
}
