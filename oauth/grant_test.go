package oauth_test

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/oauth"
)

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var oerr *oauth.Error
	if !errors.As(err, &oerr) {
		t.Fatalf("got error %v, want OAuth error %q", err, code)
	}
	if oerr.Code != code {
		t.Fatalf("got %q (%s), want %q", oerr.Code, oerr.Description, code)
	}
}

func TestPasswordGrantIssuesTokenPair(t *testing.T) {
	f := sqlite(t)
	resp := f.login(t)
	if resp.TokenType != "Bearer" || resp.ExpiresIn != 900 || resp.Scope != grantScope {
		t.Fatalf("got %+v", resp)
	}
	// A 256-bit random nonce, the session id, the generation and a MAC.
	if raw, err := base64.RawURLEncoding.DecodeString(resp.RefreshToken); err != nil || len(raw) < 32+32 {
		t.Fatalf("refresh token %q (%d bytes, %v): want base64url with 256 random bits and a 256-bit tag", resp.RefreshToken, len(raw), err)
	}
	c := f.signer.claims(t, resp.AccessToken)
	want := oauth.AccessClaims{
		Issuer: f.opts.Issuer, Subject: f.user.ID, Audience: f.opts.Audience, ClientID: publicID,
		Scope: grantScope, IssuedAt: t0.Unix(), ExpiresAt: t0.Add(15 * time.Minute).Unix(), ID: c.ID, SessionID: c.SessionID,
	}
	if c != want || c.ID == "" || c.SessionID == "" {
		t.Fatalf("claims %+v, want %+v", c, want)
	}
	s, err := f.store.Session(t.Context(), c.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if s.UserID != f.user.ID || s.ClientID != publicID || !s.ExpiresAt.Equal(t0.Add(72*time.Hour)) {
		t.Fatalf("session %+v", s)
	}
}

func TestTokenErrors(t *testing.T) {
	f := sqlite(t)
	conf := oauth.ClientCredentials{ID: confID, Secret: secret, Method: oauth.AuthBasic}
	tests := []struct {
		name string
		req  oauth.TokenRequest
		code string
	}{
		{"unknown grant", oauth.TokenRequest{GrantType: "implicit", Client: public()}, "unsupported_grant_type"},
		{"no client", oauth.TokenRequest{GrantType: "password", Client: oauth.ClientCredentials{Method: oauth.AuthNone}}, "invalid_client"},
		{"unknown client", oauth.TokenRequest{GrantType: "password", Client: oauth.ClientCredentials{ID: "nobody", Secret: "x", Method: oauth.AuthPost}}, "invalid_client"},
		{"unknown public client", oauth.TokenRequest{GrantType: "password", Client: oauth.ClientCredentials{ID: "nobody", Method: oauth.AuthNone}}, "invalid_client"},
		{"wrong secret", oauth.TokenRequest{GrantType: "password", Client: oauth.ClientCredentials{ID: confID, Secret: "wrong", Method: oauth.AuthBasic}}, "invalid_client"},
		{"confidential without secret", oauth.TokenRequest{GrantType: "password", Client: oauth.ClientCredentials{ID: confID, Method: oauth.AuthNone}}, "invalid_client"},
		{"public with secret", oauth.TokenRequest{GrantType: "password", Client: oauth.ClientCredentials{ID: publicID, Secret: "x", Method: oauth.AuthPost}}, "invalid_client"},
		{"grant not allowed", oauth.TokenRequest{GrantType: "client_credentials", Client: conf}, "unauthorized_client"},
		{"no username", oauth.TokenRequest{GrantType: "password", Client: conf, Password: password}, "invalid_request"},
		{"no password", oauth.TokenRequest{GrantType: "password", Client: conf, Username: "alice"}, "invalid_request"},
		{"wrong password", oauth.TokenRequest{GrantType: "password", Client: conf, Username: "alice", Password: "nope-nope"}, "invalid_grant"},
		{"unknown user", oauth.TokenRequest{GrantType: "password", Client: conf, Username: "bob", Password: password}, "invalid_grant"},
		{"scope not allowed", oauth.TokenRequest{GrantType: "password", Client: conf, Username: "alice", Password: password, Scope: []string{"admin"}, ScopeGiven: true}, "invalid_scope"},
		{"no refresh token", oauth.TokenRequest{GrantType: "refresh_token", Client: conf}, "invalid_request"},
		{"unknown refresh token", oauth.TokenRequest{GrantType: "refresh_token", Client: conf, RefreshToken: "bogus"}, "invalid_grant"},
		{"client credentials scope", oauth.TokenRequest{GrantType: "client_credentials", Client: oauth.ClientCredentials{ID: serviceID, Secret: secret, Method: oauth.AuthPost}, Scope: []string{"read"}, ScopeGiven: true}, "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Tokens.Token(t.Context(), tt.req)
			wantCode(t, err, tt.code)
		})
	}
}

func TestPasswordGrantNarrowsScope(t *testing.T) {
	f := sqlite(t)
	resp, err := f.svc.Tokens.Token(t.Context(), oauth.TokenRequest{GrantType: "password", Client: public(),
		Username: "alice", Password: password, Scope: []string{"read"}, ScopeGiven: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Scope != "read" {
		t.Fatalf("scope %q, want read", resp.Scope)
	}
	// The refresh token keeps the narrowed grant: it cannot widen it again.
	_, err = f.svc.Tokens.Token(t.Context(), oauth.TokenRequest{GrantType: "refresh_token", Client: public(),
		RefreshToken: resp.RefreshToken, Scope: []string{"read", "write"}, ScopeGiven: true})
	wantCode(t, err, "invalid_scope")
}

func TestClientCredentialsGrant(t *testing.T) {
	f := sqlite(t)
	for _, method := range []string{oauth.AuthBasic, oauth.AuthPost} {
		resp, err := f.svc.Tokens.Token(t.Context(), oauth.TokenRequest{GrantType: "client_credentials",
			Client: oauth.ClientCredentials{ID: serviceID, Secret: secret, Method: method}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.RefreshToken != "" || resp.Scope != "jobs" {
			t.Fatalf("got %+v, want no refresh token and scope jobs", resp)
		}
		c := f.signer.claims(t, resp.AccessToken)
		if c.Subject != serviceID || c.ClientID != serviceID || c.SessionID != "" {
			t.Fatalf("claims %+v", c)
		}
	}
}

func TestRefreshRotates(t *testing.T) {
	f := sqlite(t)
	first := f.login(t)
	f.clock.Advance(time.Minute)
	second, err := f.refresh(t.Context(), first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == first.RefreshToken || second.RefreshToken == "" {
		t.Fatal("refresh did not rotate the refresh token")
	}
	c := f.signer.claims(t, second.AccessToken)
	if c.Subject != f.user.ID || c.IssuedAt != t0.Add(time.Minute).Unix() || c.Scope != grantScope {
		t.Fatalf("claims %+v", c)
	}
	third, err := f.refresh(t.Context(), second.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := f.store.CurrentRefreshTokens(t.Context(), c.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cur) != 1 {
		t.Fatalf("%d current refresh tokens, want 1", len(cur))
	}
	if third.RefreshToken == second.RefreshToken {
		t.Fatal("second refresh did not rotate")
	}
}

func TestRefreshScopeNarrowing(t *testing.T) {
	f := sqlite(t)
	first := f.login(t)
	resp, err := f.svc.Tokens.Token(t.Context(), oauth.TokenRequest{GrantType: "refresh_token", Client: public(),
		RefreshToken: first.RefreshToken, Scope: []string{"read"}, ScopeGiven: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Scope != "read" || f.signer.claims(t, resp.AccessToken).Scope != "read" {
		t.Fatalf("scope %q, want read", resp.Scope)
	}
	// Narrowing applies to the access token; the session keeps its grant.
	again, err := f.refresh(t.Context(), resp.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if again.Scope != grantScope {
		t.Fatalf("scope %q, want %q", again.Scope, grantScope)
	}
	_, err = f.svc.Tokens.Token(t.Context(), oauth.TokenRequest{GrantType: "refresh_token", Client: public(),
		RefreshToken: again.RefreshToken, Scope: []string{"admin"}, ScopeGiven: true})
	wantCode(t, err, "invalid_scope")
	if _, err := f.refresh(t.Context(), again.RefreshToken); err != nil {
		t.Fatalf("a refused scope must not spend the token: %v", err)
	}
}

func TestRefreshBoundToClient(t *testing.T) {
	f := sqlite(t)
	first := f.login(t) // issued to the public client
	_, err := f.svc.Tokens.Token(t.Context(), oauth.TokenRequest{GrantType: "refresh_token",
		Client: oauth.ClientCredentials{ID: confID, Secret: secret, Method: oauth.AuthBasic}, RefreshToken: first.RefreshToken})
	wantCode(t, err, "invalid_grant")
	if _, err := f.refresh(t.Context(), first.RefreshToken); err != nil {
		t.Fatalf("the rightful client must still refresh: %v", err)
	}
}

// TestRefreshGraceWindow lands exactly on the edges of the grace window.
func TestRefreshGraceWindow(t *testing.T) {
	for _, tt := range []struct {
		name  string
		after time.Duration
		ok    bool
	}{
		{"immediately", 0, true},
		{"at the grace limit", 10 * time.Second, true},
		{"one nanosecond after", 10*time.Second + time.Nanosecond, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := sqlite(t)
			first := f.login(t)
			second, err := f.refresh(t.Context(), first.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(tt.after)
			again, err := f.refresh(t.Context(), first.RefreshToken)
			if !tt.ok {
				wantCode(t, err, "invalid_grant")
				_, err = f.refresh(t.Context(), second.RefreshToken)
				wantCode(t, err, "invalid_grant") // reuse killed the session
				sid := f.signer.claims(t, second.AccessToken).SessionID
				s, _ := f.store.Session(t.Context(), sid)
				if s.EndReason != models.EndReuseDetected {
					t.Fatalf("end reason %q, want %q", s.EndReason, models.EndReuseDetected)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if again.RefreshToken != second.RefreshToken {
				t.Fatal("a presentation within the grace window must get the same successor")
			}
			if _, err := f.refresh(t.Context(), second.RefreshToken); err != nil {
				t.Fatalf("the successor must still work: %v", err)
			}
		})
	}
}

func TestGraceEndsWhenSuccessorIsUsed(t *testing.T) {
	f := sqlite(t)
	first := f.login(t)
	second, err := f.refresh(t.Context(), first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	third, err := f.refresh(t.Context(), second.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.refresh(t.Context(), first.RefreshToken) // within grace, but its successor is spent
	wantCode(t, err, "invalid_grant")
	_, err = f.refresh(t.Context(), third.RefreshToken)
	wantCode(t, err, "invalid_grant")
}

func TestRefreshExpiry(t *testing.T) {
	for _, tt := range []struct {
		name   string
		steps  []time.Duration // refreshes after each of these waits
		ok     bool
		reason string
	}{
		{"idle just before limit", []time.Duration{24*time.Hour - time.Nanosecond}, true, ""},
		{"idle at limit", []time.Duration{24 * time.Hour}, false, models.EndIdle},
		{"idle counts from last use", []time.Duration{20 * time.Hour, 20 * time.Hour}, true, ""},
		{"absolute just before limit", []time.Duration{23 * time.Hour, 23 * time.Hour, 23 * time.Hour, 3*time.Hour - time.Nanosecond}, true, ""},
		{"absolute at limit", []time.Duration{23 * time.Hour, 23 * time.Hour, 23 * time.Hour, 3 * time.Hour}, false, models.EndAbsolute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := sqlite(t)
			resp := f.login(t)
			sid := f.signer.claims(t, resp.AccessToken).SessionID
			var err error
			for _, d := range tt.steps {
				f.clock.Advance(d)
				var next oauth.TokenResponse
				if next, err = f.refresh(t.Context(), resp.RefreshToken); err != nil {
					break
				}
				resp = next
			}
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, "invalid_grant")
			s, _ := f.store.Session(t.Context(), sid)
			if s.EndReason != tt.reason {
				t.Fatalf("end reason %q, want %q", s.EndReason, tt.reason)
			}
		})
	}
}

func TestForgetSuccessors(t *testing.T) {
	f := sqlite(t)
	first := f.login(t)
	if _, err := f.refresh(t.Context(), first.RefreshToken); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(5 * time.Second)
	f.svc.Maintenance.ForgetSuccessors(t.Context())
	if _, err := f.refresh(t.Context(), first.RefreshToken); err != nil {
		t.Fatalf("within the window the successor must be kept: %v", err)
	}
	f.clock.Advance(6 * time.Second)
	f.svc.Maintenance.ForgetSuccessors(t.Context())
	// Outside the window the replay is reuse whether or not the successor is kept.
	_, err := f.refresh(t.Context(), first.RefreshToken)
	wantCode(t, err, "invalid_grant")
}

// TestClientSecretCache: once the right secret is remembered, a wrong one
// is still refused.
func TestClientSecretCache(t *testing.T) {
	f := sqlite(t)
	good := oauth.ClientCredentials{ID: serviceID, Secret: secret, Method: oauth.AuthBasic}
	bad := oauth.ClientCredentials{ID: serviceID, Secret: secret + "x", Method: oauth.AuthBasic}
	for range 3 {
		if _, err := f.svc.Tokens.AuthenticateClient(t.Context(), good); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.Tokens.AuthenticateClient(t.Context(), bad)
		wantCode(t, err, "invalid_client")
	}
}
