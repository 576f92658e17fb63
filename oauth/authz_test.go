package oauth_test

import (
	"testing"
	"time"

	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/models/storetest"
	"github.com/batonhq/baton/oauth"
)

func service() oauth.ClientCredentials {
	return oauth.ClientCredentials{ID: serviceID, Secret: secret, Method: oauth.AuthBasic}
}

// TestRevokeClientCredentialsToken: SPEC §7, RFC 7009. A revoked
// client_credentials access token is inactive at introspection and refused
// by Authorize (the admin API's check) until it expires.
func TestRevokeClientCredentialsToken(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.Open(t))
			ctx := t.Context()
			tok, err := f.svc.Tokens.Token(ctx, oauth.TokenRequest{GrantType: "client_credentials", Client: service()})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Tokens.Authorize(ctx, tok.AccessToken, "jobs"); err != nil || !f.active(t, tok.AccessToken) {
				t.Fatalf("fresh token: %v, active %v", err, f.active(t, tok.AccessToken))
			}
			// Another client may not revoke it.
			err = f.svc.Tokens.Revoke(ctx, oauth.TokenRequestInfo{Client: confidential(), Token: tok.AccessToken})
			wantCode(t, err, "unauthorized_client")
			if !f.active(t, tok.AccessToken) {
				t.Fatal("revocation by another client took effect")
			}
			for range 2 { // revoking twice is fine
				if err := f.svc.Tokens.Revoke(ctx, oauth.TokenRequestInfo{Client: service(), Token: tok.AccessToken, TokenTypeHint: "access_token"}); err != nil {
					t.Fatalf("revoke: %v", err)
				}
			}
			if f.active(t, tok.AccessToken) {
				t.Fatal("revoked client_credentials token still active at introspection")
			}
			_, err = f.svc.Tokens.Authorize(ctx, tok.AccessToken, "jobs")
			wantCode(t, err, "invalid_token")
			// Another token of the same client is unaffected.
			other, err := f.svc.Tokens.Token(ctx, oauth.TokenRequest{GrantType: "client_credentials", Client: service()})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Tokens.Authorize(ctx, other.AccessToken, "jobs"); err != nil {
				t.Fatalf("another token of the client: %v", err)
			}
			// The purge keeps the revocation until exp, then forgets it.
			if err := f.svc.Maintenance.Purge(ctx); err != nil {
				t.Fatal(err)
			}
			if revoked, _ := f.store.AccessTokenRevoked(ctx, f.signer.claims(t, tok.AccessToken).ID); !revoked {
				t.Fatal("purge dropped a revocation before exp")
			}
			f.clock.Advance(15*time.Minute + time.Second)
			if err := f.svc.Maintenance.Purge(ctx); err != nil {
				t.Fatal(err)
			}
			if revoked, _ := f.store.AccessTokenRevoked(ctx, f.signer.claims(t, tok.AccessToken).ID); revoked {
				t.Fatal("purge kept the revocation of an expired token")
			}
		})
	}
}

// adminFixture adds a confidential client that may ask for the admin scope
// on behalf of users, and root, who holds the admin role.
func adminFixture(t *testing.T, store storetest.Store) *fixture {
	f := newFixture(t, store)
	if _, err := f.svc.Admin.AddClient(t.Context(), oauth.ClientSpec{ID: "ops", Secret: secret,
		Grants: []string{"password", "refresh_token", "client_credentials"}, Scopes: []string{"read", "admin"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Admin.AddUser(t.Context(), "root", password, oauth.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	return f
}

func ops() oauth.ClientCredentials {
	return oauth.ClientCredentials{ID: "ops", Secret: secret, Method: oauth.AuthBasic}
}

func (f *fixture) loginWith(t *testing.T, client oauth.ClientCredentials, user string, scope ...string) oauth.TokenResponse {
	t.Helper()
	resp, err := f.svc.Tokens.Token(t.Context(), oauth.TokenRequest{GrantType: "password", Client: client,
		Username: user, Password: password, Scope: scope, ScopeGiven: scope != nil})
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return resp
}

// TestAdminScopeBelongsToUsers: SPEC §7. A client registered with the admin
// scope does not make its users admins; a user token carries the admin
// scope only for a user with the admin role who asked for it.
func TestAdminScopeBelongsToUsers(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := adminFixture(t, b.Open(t))
			ctx := t.Context()
			for _, tt := range []struct {
				user  string
				scope []string
				want  string
				admin bool
			}{
				{"alice", nil, "read", false},
				{"alice", []string{"admin"}, "", false},
				{"alice", []string{"read", "admin"}, "read", false},
				{"root", nil, "read", false}, // an omitted scope never grants admin
				{"root", []string{"read", "admin"}, "read admin", true},
			} {
				resp := f.loginWith(t, ops(), tt.user, tt.scope...)
				if resp.Scope != tt.want || f.signer.claims(t, resp.AccessToken).Scope != tt.want {
					t.Fatalf("%s asking %q: scope %q, want %q", tt.user, tt.scope, resp.Scope, tt.want)
				}
				_, err := f.svc.Tokens.Authorize(ctx, resp.AccessToken, "admin")
				if tt.admin && err != nil {
					t.Fatalf("%s asking %q: admin refused: %v", tt.user, tt.scope, err)
				}
				if !tt.admin {
					wantCode(t, err, "insufficient_scope")
				}
			}
			// A service registered with the admin scope gets it (SPEC §7).
			cc, err := f.svc.Tokens.Token(ctx, oauth.TokenRequest{GrantType: "client_credentials", Client: ops()})
			if err != nil || cc.Scope != "read admin" {
				t.Fatalf("client_credentials: %+v, %v", cc, err)
			}
			if _, err := f.svc.Tokens.Authorize(ctx, cc.AccessToken, "admin"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRevokeRoleTakesEffectAtOnce: an admin token of a user whose role is
// taken away no longer passes the admin check, nor does its refresh.
func TestRevokeRoleTakesEffectAtOnce(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := adminFixture(t, b.Open(t))
			ctx := t.Context()
			resp := f.loginWith(t, ops(), "root", "read", "admin")
			if _, err := f.svc.Tokens.Authorize(ctx, resp.AccessToken, "admin"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Admin.RevokeRole(ctx, "root", oauth.RoleAdmin); err != nil {
				t.Fatal(err)
			}
			// The session granted under the role ends at once: its access
			// token no longer drives the admin API, introspection says
			// inactive, and no refresh hands out another token whose
			// claims list the admin scope to offline verifiers.
			_, err := f.svc.Tokens.Authorize(ctx, resp.AccessToken, "admin")
			wantCode(t, err, "invalid_token")
			in, err := f.svc.Tokens.Introspect(ctx, oauth.TokenRequestInfo{Client: ops(), Token: resp.AccessToken})
			if err != nil || in.Active {
				t.Fatalf("introspection after revoke-role: %+v, %v; want inactive", in, err)
			}
			_, err = f.svc.Tokens.Token(ctx, oauth.TokenRequest{GrantType: "refresh_token", Client: ops(), RefreshToken: resp.RefreshToken})
			wantCode(t, err, "invalid_grant")
			// A new login without the role gets no admin scope, even asked for.
			plain := f.loginWith(t, ops(), "root", "read", "admin")
			_, err = f.svc.Tokens.Authorize(ctx, plain.AccessToken, "admin")
			wantCode(t, err, "insufficient_scope")
			// Revoking a role the user does not hold ends nothing.
			if _, err := f.svc.Admin.RevokeRole(ctx, "root", oauth.RoleAdmin); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Tokens.Authorize(ctx, plain.AccessToken, "read"); err != nil {
				t.Fatalf("revoking a role not held ended the session: %v", err)
			}
			// Granting it back: a new login gets the admin scope again.
			if _, err := f.svc.Admin.GrantRole(ctx, "root", oauth.RoleAdmin); err != nil {
				t.Fatal(err)
			}
			fresh := f.loginWith(t, ops(), "root", "read", "admin")
			if _, err := f.svc.Tokens.Authorize(ctx, fresh.AccessToken, "admin"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRoleErrors(t *testing.T) {
	f := sqlite(t)
	ctx := t.Context()
	if _, err := f.svc.Admin.AddUser(ctx, "bob", password, "root"); err == nil {
		t.Fatal("unknown role accepted by AddUser")
	}
	if _, err := f.store.UserByUsername(ctx, "bob"); err == nil {
		t.Fatal("a user was created with an unknown role")
	}
	if _, err := f.svc.Admin.GrantRole(ctx, "alice", "root"); err == nil {
		t.Fatal("unknown role granted")
	}
	if _, err := f.svc.Admin.GrantRole(ctx, "nobody", oauth.RoleAdmin); err == nil {
		t.Fatal("role granted to an unknown user")
	}
}
