package oauth_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
)

func confidential() oauth.ClientCredentials {
	return oauth.ClientCredentials{ID: confID, Secret: secret, Method: oauth.AuthBasic}
}

func (f *fixture) active(t *testing.T, token string) bool {
	t.Helper()
	in, err := f.svc.Tokens.Introspect(t.Context(), oauth.TokenRequestInfo{Client: confidential(), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return in.Active
}

// TestIntrospectionLimits lands on the idle and absolute limits and on the
// access token's expiry.
func TestIntrospectionLimits(t *testing.T) {
	f := sqlite(t)
	resp := f.login(t)
	if !f.active(t, resp.AccessToken) {
		t.Fatal("fresh access token inactive")
	}
	f.clock.Advance(15*time.Minute - time.Second)
	if !f.active(t, resp.AccessToken) {
		t.Fatal("access token inactive before exp")
	}
	f.clock.Advance(time.Second)
	if f.active(t, resp.AccessToken) {
		t.Fatal("access token active at exp")
	}

	// Only confidential clients may introspect.
	_, err := f.svc.Tokens.Introspect(t.Context(), oauth.TokenRequestInfo{Client: public(), Token: resp.AccessToken})
	wantCode(t, err, "invalid_client")
}

func TestRefreshTokenIntrospection(t *testing.T) {
	f := sqlite(t)
	resp, err := f.svc.Tokens.Token(t.Context(), oauth.TokenRequest{GrantType: "password", Client: confidential(), Username: "alice", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	in, err := f.svc.Tokens.Introspect(t.Context(), oauth.TokenRequestInfo{Client: confidential(), Token: resp.RefreshToken, TokenTypeHint: "refresh_token"})
	if err != nil || !in.Active || in.TokenType != "refresh_token" || in.Username != "alice" || in.ExpiresAt != t0.Add(24*time.Hour).Unix() {
		t.Fatalf("refresh introspection %+v, %v", in, err)
	}
	f.clock.Advance(24 * time.Hour) // idle limit
	if f.active(t, resp.RefreshToken) {
		t.Fatal("refresh token of an idle session is active")
	}
}

func TestDisabledUserIsRefused(t *testing.T) {
	f := sqlite(t)
	resp := f.login(t)
	if _, err := f.svc.Admin.DisableUser(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	_, err := f.refresh(t.Context(), resp.RefreshToken)
	wantCode(t, err, "invalid_grant")
	_, err = f.svc.Tokens.Token(t.Context(), oauth.TokenRequest{GrantType: "password", Client: public(), Username: "alice", Password: password})
	wantCode(t, err, "invalid_grant")
	if f.active(t, resp.AccessToken) {
		t.Fatal("a disabled user's token is active")
	}
	sid := f.signer.claims(t, resp.AccessToken).SessionID
	if s, _ := f.store.Session(t.Context(), sid); s.EndReason != models.EndUserDisabled {
		t.Fatalf("end reason %q", s.EndReason)
	}
}

// TestPurgeLeavesTokenEndpointAnswering: while the purge deletes thousands
// of ended sessions in batches, refreshes keep succeeding.
func TestPurgeLeavesTokenEndpointAnswering(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			f := newFixture(t, store)
			const ended = 3000
			for i := range ended {
				created := t0.Add(-48 * time.Hour)
				if _, err := store.CreateSession(t.Context(), models.Session{ID: fmt.Sprintf("old%05d", i), UserID: f.user.ID,
					ClientID: publicID, CreatedAt: created, LastUsedAt: created, ExpiresAt: created.Add(72 * time.Hour),
					RefreshGen: 1, RefreshCheck: []byte(fmt.Sprintf("old-nonce-%05d-padding-to-32-bytes", i))}, 0); err != nil {
					t.Fatal(err)
				}
			}
			live := f.login(t)
			var purged atomic.Bool
			var during atomic.Int64
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // refresh until the purge is done
				defer wg.Done()
				rt := live.RefreshToken
				for !purged.Load() {
					next, err := f.refresh(t.Context(), rt)
					if err != nil {
						t.Errorf("refresh during purge: %v", err)
						return
					}
					rt = next.RefreshToken
					during.Add(1)
				}
			}()
			if err := f.svc.Maintenance.Purge(t.Context()); err != nil {
				t.Fatal(err)
			}
			purged.Store(true)
			wg.Wait()
			for _, id := range []string{"old00000", fmt.Sprintf("old%05d", ended-1)} {
				s, err := store.Session(t.Context(), id)
				if err != nil || s.EndReason != models.EndIdle {
					t.Fatalf("session %s after purge: %+v %v", id, s, err)
				}
				if cur, _ := store.CurrentRefreshTokens(t.Context(), id); len(cur) != 0 {
					t.Fatalf("tokens of ended session %s kept", id)
				}
			}
			f.clock.Advance(31 * 24 * time.Hour)
			if err := f.svc.Maintenance.Purge(t.Context()); err != nil {
				t.Fatal(err)
			}
			if _, err := store.Session(t.Context(), "old00000"); err == nil {
				t.Fatal("a session past the audit retention was kept")
			}
			t.Logf("%d refreshes while %d sessions were purged", during.Load(), ended)
		})
	}
}
