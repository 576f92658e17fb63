package oauth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/models/storetest"
	"github.com/batonhq/baton/oauth"
)

const (
	codeClient = "webapp"
	codeRedir  = "https://app.example/cb"
	verifier   = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

func challengeOf(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// codeFixture adds a code-flow client to the usual fixture.
func codeFixture(t *testing.T, store storetest.Store) *fixture {
	f := newFixture(t, store)
	for _, c := range []oauth.ClientSpec{
		{ID: codeClient, Public: true, Grants: []string{"authorization_code", "refresh_token"},
			Scopes: []string{"openid", "read"}, RedirectURIs: []string{codeRedir}},
		{ID: "other", Public: true, Grants: []string{"authorization_code"}, Scopes: []string{"openid"}, RedirectURIs: []string{codeRedir}},
	} {
		if _, err := f.svc.Admin.AddClient(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// code runs the browser's part: validate, log in, issue a code.
func (f *fixture) code(t *testing.T, nonce string) string {
	t.Helper()
	_, code := f.codeFor(t, codeClient, "openid read", true, nonce)
	return code
}

// codeFor runs the browser's part for a client and scope: validate, log in
// as alice, issue a code. It returns the validated request and the code.
func (f *fixture) codeFor(t *testing.T, client, scope string, given bool, nonce string) (oauth.Authorization, string) {
	t.Helper()
	ctx := t.Context()
	auth, err := f.svc.Authorizations.ValidateAuthorization(ctx, oauth.AuthorizationRequest{ResponseType: "code", ClientID: client,
		RedirectURI: codeRedir, Scope: scope, ScopeGiven: given, State: "st", Nonce: nonce,
		CodeChallenge: challengeOf(verifier), CodeChallengeMethod: "S256"})
	if err != nil {
		t.Fatal(err)
	}
	user, authTime, err := f.svc.Authorizations.Login(ctx, "alice", password, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	loc, err := f.svc.Authorizations.IssueCode(ctx, auth, user.ID, authTime)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if !strings.HasPrefix(loc, codeRedir+"?") || q.Get("state") != "st" || q.Get("iss") != f.opts.Issuer || len(q.Get("code")) < 43 {
		t.Fatalf("redirect %s", loc)
	}
	return auth, q.Get("code")
}

func (f *fixture) exchange(t *testing.T, code, client, redirect, v string) (oauth.TokenResponse, error) {
	return f.svc.Tokens.Token(t.Context(), oauth.TokenRequest{GrantType: "authorization_code", Code: code, RedirectURI: redirect,
		CodeVerifier: v, Client: oauth.ClientCredentials{ID: client, Method: oauth.AuthNone}})
}

func (f *fixture) idClaims(t *testing.T, token string) oauth.IDClaims {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if typ := jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType]; typ != "JWT" {
		t.Fatalf("id_token typ %v, want JWT", typ)
	}
	payload, err := jws.Verify(&f.signer.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var c oauth.IDClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCodeFlow(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := codeFixture(t, b.Open(t))
			loginAt := f.clock.Now()
			code := f.code(t, "n-123")
			f.clock.Advance(59 * time.Second)
			resp, err := f.exchange(t, code, codeClient, codeRedir, verifier)
			if err != nil {
				t.Fatal(err)
			}
			at := f.signer.claims(t, resp.AccessToken)
			id := f.idClaims(t, resp.IDToken)
			if resp.Scope != "openid read" || resp.RefreshToken == "" || at.Subject != f.user.ID || at.SessionID == "" {
				t.Fatalf("response %+v, claims %+v", resp, at)
			}
			if id.Issuer != f.opts.Issuer || id.Subject != f.user.ID || id.Audience != codeClient || id.Nonce != "n-123" ||
				id.SessionID != at.SessionID || id.AuthTime != loginAt.Unix() || id.IssuedAt != f.clock.Now().Unix() {
				t.Fatalf("id_token claims %+v", id)
			}
			// A refresh gets a fresh id_token with the original auth_time.
			f.clock.Advance(time.Hour)
			r2, err := f.refresh(t.Context(), resp.RefreshToken)
			if err == nil {
				t.Fatal("the code client's refresh token worked for another client")
			}
			r2, err = f.svc.Tokens.Token(t.Context(), oauth.TokenRequest{GrantType: "refresh_token", RefreshToken: resp.RefreshToken,
				Client: oauth.ClientCredentials{ID: codeClient, Method: oauth.AuthNone}})
			if err != nil {
				t.Fatal(err)
			}
			id2 := f.idClaims(t, r2.IDToken)
			if id2.AuthTime != loginAt.Unix() || id2.IssuedAt != f.clock.Now().Unix() || id2.Nonce != "" || id2.SessionID != id.SessionID {
				t.Fatalf("refreshed id_token %+v", id2)
			}
			info, err := f.svc.Tokens.UserInfo(t.Context(), r2.AccessToken)
			if err != nil || info.Subject != f.user.ID || info.PreferredUsername != "alice" {
				t.Fatalf("userinfo %+v, %v", info, err)
			}
		})
	}
}

// TestCodeSpentOnFailure: a wrong verifier, redirect URI or client, or an
// expired code, is invalid_grant and burns the code.
func TestCodeSpentOnFailure(t *testing.T) {
	f := codeFixture(t, gormtest.OpenSQLite(t))
	for _, tt := range []struct {
		name                  string
		client, redirect, ver string
		advance               time.Duration
	}{
		{"wrong verifier", codeClient, codeRedir, strings.Repeat("a", 43), 0},
		{"no verifier", codeClient, codeRedir, "", 0},
		{"wrong redirect", codeClient, codeRedir + "x", verifier, 0},
		{"missing redirect", codeClient, "", verifier, 0},
		{"other client", "other", codeRedir, verifier, 0},
		{"expired", codeClient, codeRedir, verifier, 60 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code := f.code(t, "")
			f.clock.Advance(tt.advance)
			if _, err := f.exchange(t, code, tt.client, tt.redirect, tt.ver); !errors.Is(err, oauth.ErrInvalidGrant) {
				t.Fatalf("got %v, want invalid_grant", err)
			}
			if _, err := f.exchange(t, code, codeClient, codeRedir, verifier); !errors.Is(err, oauth.ErrInvalidGrant) {
				t.Fatalf("the code survived a failed redemption: %v", err)
			}
		})
	}
}

// TestCodeReplayRevokesSession: a code presented again ends the session it
// started (RFC 6749 §4.1.2), also when 30 presentations race.
func TestCodeReplayRevokesSession(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := codeFixture(t, b.Open(t))
			code := f.code(t, "")
			resp, err := f.exchange(t, code, codeClient, codeRedir, verifier)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.exchange(t, code, codeClient, codeRedir, verifier); !errors.Is(err, oauth.ErrInvalidGrant) {
				t.Fatalf("replay: got %v, want invalid_grant", err)
			}
			sid := f.signer.claims(t, resp.AccessToken).SessionID
			if sess, err := f.store.Session(t.Context(), sid); err != nil || sess.EndReason != oauth.EndCodeReplayed {
				t.Fatalf("session after replay: %+v, %v", sess, err)
			}
			if _, err := f.svc.Tokens.Token(t.Context(), oauth.TokenRequest{GrantType: "refresh_token", RefreshToken: resp.RefreshToken,
				Client: oauth.ClientCredentials{ID: codeClient, Method: oauth.AuthNone}}); !errors.Is(err, oauth.ErrInvalidGrant) {
				t.Fatalf("refresh after replay: %v", err)
			}

			// Racing presentations: at most one session is started, and none survives.
			code = f.code(t, "")
			const n = 30
			var wg sync.WaitGroup
			resps := make([]oauth.TokenResponse, n)
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resps[i], errs[i] = f.exchange(t, code, codeClient, codeRedir, verifier)
				}()
			}
			wg.Wait()
			won := 0
			for i, err := range errs {
				switch {
				case err == nil:
					won++
					sid := f.signer.claims(t, resps[i].AccessToken).SessionID
					if sess, err := f.store.Session(t.Context(), sid); err != nil || !sess.Ended() {
						t.Fatalf("the session of a raced code lives on: %+v, %v", sess, err)
					}
				case !errors.Is(err, oauth.ErrInvalidGrant):
					t.Fatalf("presentation %d: %v", i, err)
				}
			}
			if won > 1 {
				t.Fatalf("%d presentations of one code got tokens", won)
			}
		})
	}
}

// TestCodeFlowAdminScopeNeedsRole: the code flow grants the admin scope as
// the password grant does (SPEC §7): only to a holder of the admin role who
// asked for it, never through an omitted scope.
func TestCodeFlowAdminScopeNeedsRole(t *testing.T) {
	f := codeFixture(t, gormtest.OpenSQLite(t))
	ctx := t.Context()
	if _, err := f.svc.Admin.AddClient(ctx, oauth.ClientSpec{ID: "console", Public: true,
		Grants: []string{"authorization_code"}, Scopes: []string{"read", "admin"}, RedirectURIs: []string{codeRedir}}); err != nil {
		t.Fatal(err)
	}
	scopeFor := func(scope string, given bool) (validated []string, granted string) {
		t.Helper()
		auth, code := f.codeFor(t, "console", scope, given, "")
		resp, err := f.exchange(t, code, "console", codeRedir, verifier)
		if err != nil {
			t.Fatal(err)
		}
		return auth.Scope, resp.Scope
	}
	if v, g := scopeFor("", false); strings.Contains(strings.Join(v, " ")+" "+g, "admin") {
		t.Fatalf("omitted scope: asked %v, granted %q; want no admin", v, g)
	}
	if _, g := scopeFor("read admin", true); g != "read" {
		t.Fatalf("alice without the role asking admin: granted %q, want read", g)
	}
	if _, err := f.svc.Admin.GrantRole(ctx, "alice", oauth.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if _, g := scopeFor("read admin", true); g != "read admin" {
		t.Fatalf("alice with the role asking admin: granted %q, want read admin", g)
	}
	if v, g := scopeFor("", false); strings.Contains(strings.Join(v, " ")+" "+g, "admin") {
		t.Fatalf("omitted scope with the role: asked %v, granted %q; want no admin", v, g)
	}
}
