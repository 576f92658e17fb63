package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/batonhq/baton/internal/clocktest"
	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/models/storetest"
	"github.com/batonhq/baton/oauth"
)

// testSigner signs with one ES256 key; the keys package has its own tests.
type testSigner struct {
	key *ecdsa.PrivateKey
}

func newTestSigner(t testing.TB) *testSigner {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &testSigner{key: k}
}

func (s *testSigner) Sign(_ context.Context, typ string, payload []byte) (string, error) {
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", "test")
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: s.key}, opts)
	if err != nil {
		return "", err
	}
	jws, err := sig.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// Verify checks a token signed by Sign.
func (s *testSigner) Verify(token, typ string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, err
	}
	if jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType] != typ {
		return nil, errors.New("wrong typ")
	}
	return jws.Verify(&s.key.PublicKey)
}

// claims verifies the access token's signature and header and returns its claims.
func (s *testSigner) claims(t *testing.T, token string) oauth.AccessClaims {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("parse access token: %v", err)
	}
	if typ := jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType]; typ != "at+jwt" {
		t.Fatalf("typ = %v, want at+jwt", typ)
	}
	payload, err := jws.Verify(&s.key.PublicKey)
	if err != nil {
		t.Fatalf("verify access token: %v", err)
	}
	var c oauth.AccessClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// fixture is an oauth.Server on a real store with a user, a public client, a
// confidential client and a fake clock.
type fixture struct {
	svc    *oauth.Server
	store  storetest.Store
	clock  *clocktest.Clock
	signer *testSigner
	opts   oauth.Options
	user   models.User
}

const (
	password   = "correct horse battery"
	secret     = "s3cret-s3cret-s3cret"
	publicID   = "spa"
	confID     = "backend"
	serviceID  = "worker"
	grantScope = "read write"
)

func testOptions() oauth.Options {
	return oauth.Options{
		Issuer:            "https://auth.example.test",
		Audience:          "https://api.example.test",
		AccessTokenTTL:    15 * time.Minute,
		RefreshIdleTTL:    24 * time.Hour,
		SessionMaxTTL:     72 * time.Hour,
		RefreshReuseGrace: 10 * time.Second,
		Argon2:            oauth.Argon2Params{Memory: 64, Time: 1, Threads: 1},
	}
}

func newFixture(t testing.TB, store storetest.Store) *fixture {
	t.Helper()
	f := &fixture{store: store, clock: clocktest.New(t0), signer: newTestSigner(t), opts: testOptions()}
	svc, err := oauth.NewServer(store, f.signer, f.opts, f.clock.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	ctx := t.Context()
	if f.user, err = svc.Admin.AddUser(ctx, "alice", password); err != nil {
		t.Fatal(err)
	}
	for _, c := range []oauth.ClientSpec{
		{ID: publicID, Public: true, Grants: []string{"password", "refresh_token"}, Scopes: []string{"read", "write"}},
		{ID: confID, Secret: secret, Grants: []string{"password", "refresh_token"}, Scopes: []string{"read", "write"}},
		{ID: serviceID, Secret: secret, Grants: []string{"client_credentials"}, Scopes: []string{"jobs"}},
	} {
		if _, err := svc.Admin.AddClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func public() oauth.ClientCredentials {
	return oauth.ClientCredentials{ID: publicID, Method: oauth.AuthNone}
}

func (f *fixture) login(t *testing.T) oauth.TokenResponse {
	t.Helper()
	resp, err := f.svc.Tokens.Token(t.Context(), oauth.TokenRequest{
		GrantType: "password", Client: public(), Username: "alice", Password: password,
	})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return resp
}

func (f *fixture) refresh(ctx context.Context, token string) (oauth.TokenResponse, error) {
	return f.svc.Tokens.Token(ctx, oauth.TokenRequest{GrantType: "refresh_token", Client: public(), RefreshToken: token})
}

// sqlite returns a fixture on SQLite; most protocol tests need no more.
func sqlite(t *testing.T) *fixture { return newFixture(t, gormtest.OpenSQLite(t)) }
