package handlers_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/handlers"
	"github.com/batonhq/baton/internal/clocktest"
	"github.com/batonhq/baton/keys"
	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
	"github.com/batonhq/baton/oauth/resource"
)

// issuerServer is a real baton on a real listener, with a JWKS endpoint whose
// fetches are counted and which can be made to fail.
type issuerServer struct {
	*httptest.Server
	svc      *oauth.Server
	ring     *keys.Ring
	fetches  atomic.Int64
	down     atomic.Bool
	audience string
}

func startIssuer(t testing.TB, alg string) *issuerServer {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	store := gormtest.OpenSQLite(t)
	ring, err := keys.NewRing(store, keys.Options{Alg: alg, KEK: make([]byte, 32), RotationPeriod: time.Hour,
		JWKSMaxAge: time.Minute, TokenTTL: time.Minute}, time.Now, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := &issuerServer{ring: ring, audience: "https://api.example.test"}
	b.Server = httptest.NewUnstartedServer(nil)
	issuer := "http://" + b.Listener.Addr().String()
	b.svc, err = oauth.NewServer(store, ring, oauth.Options{Issuer: issuer, Audience: b.audience,
		AccessTokenTTL: time.Minute, RefreshIdleTTL: time.Hour, SessionMaxTTL: time.Hour,
		Argon2: oauth.Argon2Params{Memory: 64, Time: 1, Threads: 1}}, time.Now, log)
	if err != nil {
		t.Fatal(err)
	}
	router, err := handlers.NewRouter(handlers.Config{Tokens: b.svc.Tokens, Authorizations: b.svc.Authorizations, Admin: b.svc.Admin, Keys: ring, Rotator: ring, AdminScope: "admin",
		Issuer: issuer, JWKSMaxAge: time.Minute, Ready: store.Ping, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	b.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/jwks.json" {
			if b.down.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			b.fetches.Add(1)
		}
		router.ServeHTTP(w, r)
	})
	b.Start()
	t.Cleanup(b.Close)
	ctx := context.Background()
	if _, err := b.svc.Admin.AddUser(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []oauth.ClientSpec{
		{ID: "app", Public: true, Grants: []string{"password", "refresh_token"}, Scopes: []string{"read", "write"}},
		{ID: "api", Secret: secret, Grants: []string{"client_credentials"}, Scopes: []string{"read"}},
	} {
		if _, err := b.svc.Admin.AddClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func (b *issuerServer) userToken(t testing.TB, scope ...string) oauth.TokenResponse {
	t.Helper()
	resp, err := b.svc.Tokens.Token(context.Background(), oauth.TokenRequest{GrantType: "password",
		Client: oauth.ClientCredentials{ID: "app", Method: oauth.AuthNone}, Username: "alice", Password: "correct horse battery",
		Scope: scope, ScopeGiven: len(scope) > 0})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (b *issuerServer) verifier(t testing.TB, edit func(*resource.Config)) *resource.Verifier {
	t.Helper()
	cfg := resource.Config{Issuer: b.URL, Audience: b.audience}
	if edit != nil {
		edit(&cfg)
	}
	v, err := resource.NewVerifier(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// protectedAPI is an API behind the middleware that echoes the subject.
func protectedAPI(v *resource.Verifier, scopes ...string) http.Handler {
	return v.Middleware(scopes...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := resource.ClaimsFrom(r.Context())
		_, _ = io.WriteString(w, c.Subject)
	}))
}

func callAPI(t *testing.T, h http.Handler, authz string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", "/api", nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// resign rebuilds a token with another header and signature.
func resign(token, header string, sign func(input string) string) string {
	parts := strings.Split(token, ".")
	h := base64.RawURLEncoding.EncodeToString([]byte(header))
	return h + "." + parts[1] + "." + sign(h+"."+parts[1])
}

func TestResourceMiddleware(t *testing.T) {
	b := startIssuer(t, keys.ES256)
	c := clocktest.New(time.Now())
	v := b.verifier(t, func(cfg *resource.Config) { cfg.Now = c.Now })
	h := protectedAPI(v, "read")
	user := b.userToken(t)
	noScope := b.userToken(t, "write")
	parts := strings.Split(user.AccessToken, ".")
	var hdr map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	_ = json.Unmarshal(raw, &hdr)
	jwks, _ := b.ring.JWKS()
	hmacWithPublicKey := resign(user.AccessToken, `{"alg":"HS256","typ":"at+jwt","kid":"`+hdr["kid"].(string)+`"}`, func(in string) string {
		m := hmac.New(sha256.New, jwks)
		m.Write([]byte(in))
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	})
	tests := []struct {
		name, authz string
		status      int
		www         string
	}{
		{"valid", "Bearer " + user.AccessToken, 200, ""},
		{"no token", "", 401, `Bearer realm="https://api.example.test"`},
		{"basic", "Basic YTpi", 401, `Bearer realm=`},
		{"garbage", "Bearer x.y.z", 401, `error="invalid_token", error_description="the access token is invalid"`},
		{"refresh token", "Bearer " + user.RefreshToken, 401, `error="invalid_token"`},
		{"alg none", "Bearer " + resign(user.AccessToken, `{"alg":"none","typ":"at+jwt"}`, func(string) string { return "" }), 401, `error="invalid_token"`},
		{"HMAC with the public key", "Bearer " + hmacWithPublicKey, 401, `error="invalid_token"`},
		{"no typ", "Bearer " + resign(user.AccessToken, `{"alg":"ES256","kid":"`+hdr["kid"].(string)+`"}`, func(string) string { return parts[2] }), 401, `error="invalid_token"`},
		{"tampered", "Bearer " + parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory"}`)) + "." + parts[2], 401, `error="invalid_token"`},
		{"insufficient scope", "Bearer " + noScope.AccessToken, 403, `error="insufficient_scope", scope="read"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := callAPI(t, h, tt.authz)
			if w.Code != tt.status || !strings.Contains(w.Header().Get("WWW-Authenticate"), tt.www) {
				t.Fatalf("got %d %q, want %d %q (%s)", w.Code, w.Header().Get("WWW-Authenticate"), tt.status, tt.www, w.Body)
			}
		})
	}
	// Expired is told apart from invalid; the leeway is 30 s.
	c.Advance(time.Minute + 29*time.Second)
	if w := callAPI(t, h, "Bearer "+user.AccessToken); w.Code != 200 {
		t.Fatalf("within the leeway: %d", w.Code)
	}
	c.Advance(2 * time.Second)
	w := callAPI(t, h, "Bearer "+user.AccessToken)
	if w.Code != 401 || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error_description="the access token expired"`) {
		t.Fatalf("expired: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	if _, err := v.Verify(t.Context(), user.AccessToken); !errors.Is(err, resource.ErrExpired) {
		t.Fatalf("Verify: %v, want ErrExpired", err)
	}
}

func TestResourceWrongIssuerOrAudience(t *testing.T) {
	b := startIssuer(t, keys.ES256)
	tok := b.userToken(t).AccessToken
	for _, edit := range []func(*resource.Config){
		func(c *resource.Config) { c.Audience = "https://other.example.test" },
		func(c *resource.Config) {
			c.JWKSURL = b.URL + "/.well-known/jwks.json"
			c.Issuer = "https://evil.example.test"
		},
	} {
		if _, err := b.verifier(t, edit).Verify(t.Context(), tok); !errors.Is(err, resource.ErrInvalidToken) {
			t.Fatalf("got %v, want ErrInvalidToken", err)
		}
	}
}

// TestResourceJWKSRefetchOnUnknownKid: after a key rotation, 50 concurrent requests
// with the new kid cause one JWKS fetch, and further unknown kids within the
// interval cause none.
func TestResourceJWKSRefetchOnUnknownKid(t *testing.T) {
	b := startIssuer(t, keys.ES256)
	c := clocktest.New(time.Now())
	v := b.verifier(t, func(cfg *resource.Config) { cfg.Now = c.Now })
	if _, err := v.Verify(t.Context(), b.userToken(t).AccessToken); err != nil {
		t.Fatal(err)
	}
	if n := b.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for the first token", n)
	}
	// A key the cached JWKS does not know: sign with a ring on another database.
	other := startIssuer(t, keys.ES256)
	forged := other.userToken(t).AccessToken
	c.Advance(11 * time.Second)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Verify(context.Background(), forged); !errors.Is(err, resource.ErrInvalidToken) {
				t.Errorf("unknown kid: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := b.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2: one refetch however many requests", n)
	}
	for range 10 {
		_, _ = v.Verify(t.Context(), forged)
	}
	if n := b.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want no more within the interval", n)
	}
}

// TestResourceStaleJWKSWhileIssuerDown: past max-age, with baton unreachable, the
// cached keys still verify.
func TestResourceStaleJWKSWhileIssuerDown(t *testing.T) {
	b := startIssuer(t, keys.ES256)
	c := clocktest.New(time.Now())
	v := b.verifier(t, func(cfg *resource.Config) { cfg.Now = c.Now; cfg.Leeway = time.Hour })
	tok := b.userToken(t).AccessToken
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	b.down.Store(true)
	c.Advance(2 * time.Minute) // past the JWKS max-age
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("stale cache while baton is down: %v", err)
	}
}

// TestResourceOnlineMode: with introspection, a revoked session is refused once the
// short cache has run out.
func TestResourceOnlineMode(t *testing.T) {
	b := startIssuer(t, keys.ES256)
	c := clocktest.New(time.Now())
	v := b.verifier(t, func(cfg *resource.Config) {
		cfg.Now = c.Now
		cfg.Introspection = &resource.IntrospectionConfig{URL: b.URL + "/oauth2/introspect", ClientID: "api", ClientSecret: secret, CacheTTL: time.Second}
	})
	tok := b.userToken(t)
	if _, err := v.Verify(t.Context(), tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.Tokens.Revoke(t.Context(), oauth.TokenRequestInfo{Client: oauth.ClientCredentials{ID: "app", Method: oauth.AuthNone}, Token: tok.RefreshToken}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), tok.AccessToken); err != nil {
		t.Fatalf("within the cache: %v", err)
	}
	c.Advance(time.Second)
	if _, err := v.Verify(t.Context(), tok.AccessToken); !errors.Is(err, resource.ErrInvalidToken) {
		t.Fatalf("revoked: %v", err)
	}
}

func BenchmarkResourceVerify(b *testing.B) {
	for _, alg := range []string{keys.ES256, keys.RS256, keys.EdDSA} {
		b.Run(alg, func(b *testing.B) {
			srv := startIssuer(b, alg)
			v := srv.verifier(b, nil)
			tok := srv.userToken(b).AccessToken
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := v.Verify(context.Background(), tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkResourceMiddleware is the resource-server middleware in front of a
// trivial handler: parse the bearer header, verify the ES256 token with
// the cached JWKS, check the scope, call the handler.
func BenchmarkResourceMiddleware(b *testing.B) {
	srv := startIssuer(b, keys.ES256)
	h := protectedAPI(srv.verifier(b, nil), "read")
	authz := "Bearer " + srv.userToken(b).AccessToken
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("GET", "/api", nil)
			r.Header.Set("Authorization", authz)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}
