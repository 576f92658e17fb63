package oauth_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/models/storetest"
	"github.com/batonhq/baton/oauth"
)

// TestRotateClientSecretCached: SPEC §7. After a successful (hence cached)
// authentication, rotating the secret refuses the old one at once on the
// same instance, with the clock standing still inside the cache lifetime,
// and the new one works.
func TestRotateClientSecretCached(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.Open(t))
			ctx := t.Context()
			old := oauth.ClientCredentials{ID: serviceID, Secret: secret, Method: oauth.AuthBasic}
			for range 2 { // the second one is served by the cache
				if _, err := f.svc.Tokens.AuthenticateClient(ctx, old); err != nil {
					t.Fatal(err)
				}
			}
			next, err := f.svc.Admin.RotateClientSecret(ctx, serviceID, "")
			if err != nil || len(next) != 43 {
				t.Fatalf("rotate: %q, %v; want a 256-bit base64url secret", next, err)
			}
			if _, err := f.svc.Tokens.AuthenticateClient(ctx, old); !errors.Is(err, oauth.ErrInvalidClient) {
				t.Fatalf("old secret right after rotation: %v, want invalid_client", err)
			}
			if _, err := f.svc.Tokens.Token(ctx, oauth.TokenRequest{GrantType: "client_credentials", Client: old}); !errors.Is(err, oauth.ErrInvalidClient) {
				t.Fatalf("token with the old secret: %v", err)
			}
			fresh := oauth.ClientCredentials{ID: serviceID, Secret: next, Method: oauth.AuthBasic}
			if _, err := f.svc.Tokens.Token(ctx, oauth.TokenRequest{GrantType: "client_credentials", Client: fresh}); err != nil {
				t.Fatalf("token with the new secret: %v", err)
			}
			given := "a-chosen-secret-of-enough-length"
			if _, err := f.svc.Admin.RotateClientSecret(ctx, serviceID, given); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Tokens.AuthenticateClient(ctx, fresh); !errors.Is(err, oauth.ErrInvalidClient) {
				t.Fatalf("second rotation: the previous secret still works: %v", err)
			}
			for _, tt := range []struct {
				id, secret string
				want       error
			}{
				{serviceID, "short", new(oauth.ClientInputError)},
				{publicID, "", new(oauth.ClientInputError)},
				{"nobody", "", oauth.ErrNotFound},
			} {
				_, err := f.svc.Admin.RotateClientSecret(ctx, tt.id, tt.secret)
				var in *oauth.ClientInputError
				if ok := errors.Is(err, oauth.ErrNotFound) || errors.As(err, &in); !ok {
					t.Fatalf("rotate %s %q: %v", tt.id, tt.secret, err)
				}
			}
			if _, err := f.svc.Tokens.AuthenticateClient(ctx, oauth.ClientCredentials{ID: serviceID, Secret: given, Method: oauth.AuthBasic}); err != nil {
				t.Fatalf("a refused rotation changed the secret: %v", err)
			}
		})
	}
}

// gatedStore holds one client read until released, so that a test can
// commit a change while a lookup that started before it is in flight.
type gatedStore struct {
	storetest.Store
	reading, release chan struct{}
}

func (s *gatedStore) Client(ctx context.Context, id string) (models.Client, error) {
	c, err := s.Store.Client(ctx, id)
	if s.reading != nil {
		r := s.reading
		s.reading = nil
		close(r)
		<-s.release
	}
	return c, err
}

// TestRotateRacesClientLoad: a lookup that read the client before a
// rotation committed, and finishes after it, does not put the old client
// back into the cache (where the old secret would keep working for 5 s).
func TestRotateRacesClientLoad(t *testing.T) {
	store := &gatedStore{Store: gormtest.OpenSQLite(t)}
	f := newFixture(t, store)
	ctx := t.Context()
	old := oauth.ClientCredentials{ID: serviceID, Secret: secret, Method: oauth.AuthBasic}
	if _, err := f.svc.Tokens.AuthenticateClient(ctx, old); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(6 * time.Second) // the cached client is stale: the next lookup reads
	store.reading, store.release = make(chan struct{}), make(chan struct{})
	reading := store.reading
	done := make(chan error)
	go func() { _, err := f.svc.Tokens.AuthenticateClient(ctx, old); done <- err }()
	<-reading // it has read the old client
	if _, err := f.svc.Admin.RotateClientSecret(ctx, serviceID, ""); err != nil {
		t.Fatal(err)
	}
	close(store.release)
	<-done // began before the rotation: either answer is fine
	if _, err := f.svc.Tokens.AuthenticateClient(ctx, old); !errors.Is(err, oauth.ErrInvalidClient) {
		t.Fatalf("old secret after a lookup raced the rotation: %v, want invalid_client", err)
	}
}

// TestDeleteClientTokens: SPEC §7. Deleting a client ends its users'
// sessions and turns its client_credentials access tokens (which have no
// session) inactive at introspection and refused by Authorize, at once on
// this instance.
func TestDeleteClientTokens(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := adminFixture(t, b.Open(t))
			ctx := t.Context()
			cc, err := f.svc.Tokens.Token(ctx, oauth.TokenRequest{GrantType: "client_credentials", Client: ops()})
			if err != nil {
				t.Fatal(err)
			}
			user := f.loginWith(t, ops(), "root", "admin")
			other := f.loginWith(t, confidential(), "alice")
			for _, tok := range []string{cc.AccessToken, user.AccessToken} {
				if !f.active(t, tok) {
					t.Fatal("token inactive before the deletion")
				}
			}
			if _, err := f.svc.Tokens.Authorize(ctx, cc.AccessToken, "admin"); err != nil {
				t.Fatal(err)
			}
			n, err := f.svc.Admin.DeleteClient(ctx, "ops")
			if err != nil || n != 1 {
				t.Fatalf("delete: %d sessions ended, %v; want 1", n, err)
			}
			for name, tok := range map[string]string{"client_credentials access": cc.AccessToken, "user access": user.AccessToken} {
				if f.active(t, tok) {
					t.Fatalf("%s token of the deleted client is active", name)
				}
				if _, err := f.svc.Tokens.Authorize(ctx, tok, "admin"); !errors.Is(err, oauth.ErrInvalidToken) {
					t.Fatalf("%s token of the deleted client authorized: %v", name, err)
				}
			}
			if _, err := f.svc.Tokens.Token(ctx, oauth.TokenRequest{GrantType: "refresh_token", Client: ops(), RefreshToken: user.RefreshToken}); err == nil {
				t.Fatal("refresh with the deleted client succeeded")
			}
			if !f.active(t, other.AccessToken) || !f.active(t, other.RefreshToken) {
				t.Fatal("another client's tokens turned inactive")
			}
			if _, err := f.svc.Admin.DeleteClient(ctx, "ops"); !errors.Is(err, oauth.ErrNotFound) {
				t.Fatalf("delete again: %v", err)
			}
			// Registered again under the same id, the client does not revive the old tokens.
			f.clock.Advance(2 * time.Minute)
			if _, err := f.svc.Admin.AddClient(ctx, oauth.ClientSpec{ID: "ops", Secret: secret,
				Grants: []string{"client_credentials"}, Scopes: []string{"admin"}}); err != nil {
				t.Fatal(err)
			}
			if f.active(t, cc.AccessToken) {
				t.Fatal("a token of the deleted client is active again under a new client of the same id")
			}
		})
	}
}

// TestUpdateClientChecks: an update is checked as client add is, and a
// refused one writes nothing.
func TestUpdateClientChecks(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.Open(t))
			ctx := t.Context()
			list := func(s ...string) *[]string { return &s }
			for name, ch := range map[string]oauth.ClientChange{
				"unknown grant":             {Grants: list("implicit")},
				"no grant":                  {Grants: list()},
				"code without redirect":     {Grants: list("authorization_code")},
				"fragment":                  {Grants: list("authorization_code"), RedirectURIs: list("https://a.example/cb#x")},
				"relative redirect":         {Grants: list("authorization_code"), RedirectURIs: list("/cb")},
				"redirect without code":     {RedirectURIs: list("https://a.example/cb")},
				"bad scope":                 {Scopes: list(`a"b`)},
				"bad origin":                {AllowedOrigins: list("https://a.example/")},
				"public client_credentials": {Grants: list("client_credentials")},
			} {
				id := confID
				if name == "public client_credentials" {
					id = publicID
				}
				var in *oauth.ClientInputError
				if _, err := f.svc.Admin.UpdateClient(ctx, id, ch); !errors.As(err, &in) {
					t.Fatalf("%s: %v, want a ClientInputError", name, err)
				}
			}
			for _, id := range []string{confID, publicID} {
				c, _ := f.store.Client(ctx, id)
				if !slices.Equal(c.Grants, []string{"password", "refresh_token"}) || !slices.Equal(c.Scopes, []string{"read", "write"}) ||
					len(c.RedirectURIs) != 0 || len(c.AllowedOrigins) != 0 {
					t.Fatalf("refused updates wrote %+v", c)
				}
			}
			trusted := true
			got, err := f.svc.Admin.UpdateClient(ctx, confID, oauth.ClientChange{Grants: list("authorization_code", "refresh_token"),
				RedirectURIs: list("https://a.example/cb", "http://127.0.0.1/cb"), AllowedOrigins: list("https://a.example"),
				Scopes: list("openid"), Trusted: &trusted})
			if err != nil || got.Scope != "openid" || !got.Trusted || len(got.RedirectURIs) != 2 {
				t.Fatalf("update: %+v, %v", got, err)
			}
			if ok, _ := f.svc.Tokens.OriginRegistered(ctx, "https://a.example"); !ok {
				t.Fatal("an origin added by an update is not registered at once")
			}
			if _, err := f.svc.Admin.UpdateClient(ctx, "nobody", oauth.ClientChange{}); !errors.Is(err, oauth.ErrNotFound) {
				t.Fatalf("unknown client: %v", err)
			}
		})
	}
}
