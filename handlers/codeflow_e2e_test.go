package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
)

const (
	rpID       = "photos"      // a third-party public client: consent asked
	rpTrusted  = "first-party" // a trusted confidential client: no consent
	rpCallback = "http://127.0.0.1:5555/callback"
	rpOrigin   = "https://photos.example"
)

// codeServer is a server with the code-flow clients registered.
func codeServer(t *testing.T, s *server) *server {
	t.Helper()
	for _, c := range []oauth.ClientSpec{
		{ID: rpID, Public: true, Grants: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "read"},
			RedirectURIs: []string{"http://127.0.0.1/callback"}, AllowedOrigins: []string{rpOrigin}},
		{ID: rpTrusted, Secret: secret, Grants: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "read"},
			RedirectURIs: []string{rpCallback}, Trusted: true},
	} {
		if _, err := s.svc.Admin.AddClient(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// browser follows baton's pages as a browser does: cookies kept, forms
// submitted with every field unchanged, redirects stopped at the client.
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status int
	header http.Header
	body   string
	url    *url.URL
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(body), url: req.URL}
}

func (b *browser) get(u string) page {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// submit fills the named inputs of the page's form, adds the button's
// name and value, and posts every other field unchanged.
func (b *browser) submit(p page, fill map[string]string, button ...string) page {
	b.t.Helper()
	action, fields := parseHTMLForm(b.t, p.body)
	for k, v := range fill {
		fields.Set(k, v)
	}
	if len(button) == 2 {
		fields.Set(button[0], button[1])
	}
	target, err := p.url.Parse(action)
	if err != nil {
		b.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", target.String(), strings.NewReader(fields.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// parseHTMLForm returns the action of the page's form and its inputs.
func parseHTMLForm(t *testing.T, body string) (string, url.Values) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	action, fields, found := "", url.Values{}, false
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := map[string]string{}
			for _, a := range n.Attr {
				attr[a.Key] = a.Val
			}
			switch n.Data {
			case "form":
				action, found = attr["action"], true
			case "input":
				if attr["name"] != "" {
					fields.Set(attr["name"], attr["value"])
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if !found {
		t.Fatalf("no form on the page: %s", body)
	}
	return action, fields
}

// relyingParty is an application using x/oauth2 and go-oidc unchanged.
type relyingParty struct {
	provider *oidc.Provider
	config   oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newRelyingParty(t *testing.T, s *server, id, clientSecret string) *relyingParty {
	t.Helper()
	ctx := t.Context()
	provider, err := oidc.NewProvider(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	ep := provider.Endpoint()
	if clientSecret == "" {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return &relyingParty{
		provider: provider,
		config: oauth2.Config{ClientID: id, ClientSecret: clientSecret, Endpoint: ep, RedirectURL: rpCallback,
			Scopes: []string{oidc.ScopeOpenID, "read"}},
		verifier: provider.Verifier(&oidc.Config{ClientID: id}),
	}
}

// authorize returns the authorization URL with PKCE S256, state and nonce.
func (rp *relyingParty) authorize(verifier, state, nonce string, extra ...oauth2.AuthCodeOption) string {
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)}, extra...)
	return rp.config.AuthCodeURL(state, opts...)
}

// callback checks a redirect to the client and returns its query.
func callback(t *testing.T, s *server, p page, state string) url.Values {
	t.Helper()
	if p.status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303 to the client: %s", p.status, p.body)
	}
	loc, err := url.Parse(p.header.Get("Location"))
	if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != rpCallback {
		t.Fatalf("redirect to %q, want %s", p.header.Get("Location"), rpCallback)
	}
	q := loc.Query()
	if q.Get("state") != state || q.Get("iss") != s.URL {
		t.Fatalf("callback state %q iss %q, want %q and %q", q.Get("state"), q.Get("iss"), state, s.URL)
	}
	return q
}

func login(b *browser, p page) page {
	return b.submit(p, map[string]string{"username": "alice", "password": password})
}

func TestCodeFlowRelyingParty(t *testing.T) {
	for _, be := range gormtest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := codeServer(t, newServer(t, be.Open(t)))
			ctx := t.Context()
			rp := newRelyingParty(t, s, rpID, "")
			b := newBrowser(t)
			verifier := oauth2.GenerateVerifier()
			p := b.get(rp.authorize(verifier, "st-1", "nonce-1"))
			if p.status != http.StatusOK || !strings.Contains(p.body, `name="password"`) {
				t.Fatalf("login page: %d %s", p.status, p.body)
			}
			for h, want := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"} {
				if got := p.header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "script-src") {
				t.Errorf("CSP %q", csp)
			}
			p = login(b, p)
			if p.status != http.StatusOK || !strings.Contains(p.body, `value="allow"`) || !strings.Contains(p.body, rpID) {
				t.Fatalf("consent page: %d %s", p.status, p.body)
			}
			q := callback(t, s, b.submit(p, nil, "consent", "allow"), "st-1")

			tok, err := rp.config.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := tok.Extra("id_token").(string)
			id, err := rp.verifier.Verify(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			var claims struct {
				Sid      string `json:"sid"`
				AuthTime int64  `json:"auth_time"`
			}
			if err := id.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			users, _ := s.store.UserByUsername(ctx, "alice")
			if id.Nonce != "nonce-1" || id.Subject != users.ID || claims.Sid == "" || claims.AuthTime == 0 {
				t.Fatalf("id_token nonce %q sub %q claims %+v", id.Nonce, id.Subject, claims)
			}
			info, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatal(err)
			}
			var extra struct {
				PreferredUsername string `json:"preferred_username"`
			}
			if err := info.Claims(&extra); err != nil || info.Subject != users.ID || extra.PreferredUsername != "alice" {
				t.Fatalf("userinfo %+v %+v %v", info, extra, err)
			}

			// A refresh, through x/oauth2's TokenSource, brings a fresh id_token.
			tok.Expiry = time.Now().Add(-time.Minute)
			fresh, err := rp.config.TokenSource(ctx, tok).Token()
			if err != nil {
				t.Fatal(err)
			}
			raw2, _ := fresh.Extra("id_token").(string)
			id2, err := rp.verifier.Verify(ctx, raw2)
			if err != nil || fresh.RefreshToken == tok.RefreshToken {
				t.Fatalf("refreshed: %v (refresh token rotated: %v)", err, fresh.RefreshToken != tok.RefreshToken)
			}
			var claims2 struct {
				Sid      string `json:"sid"`
				AuthTime int64  `json:"auth_time"`
			}
			_ = id2.Claims(&claims2)
			if claims2 != claims || id2.Subject != id.Subject {
				t.Fatalf("refreshed id_token %+v, want sid and auth_time %+v", claims2, claims)
			}

			// Consent is remembered: the next login goes straight back.
			verifier = oauth2.GenerateVerifier()
			p = login(b, b.get(rp.authorize(verifier, "st-2", "nonce-2", oauth2.SetAuthURLParam("prompt", "login"))))
			q = callback(t, s, p, "st-2")
			if _, err := rp.config.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCodeFlowTrustedConfidential: a trusted client skips consent and
// authenticates with its secret (client_secret_basic).
func TestCodeFlowTrustedConfidential(t *testing.T) {
	s := codeServer(t, sqliteServer(t))
	rp := newRelyingParty(t, s, rpTrusted, secret)
	b := newBrowser(t)
	verifier := oauth2.GenerateVerifier()
	q := callback(t, s, login(b, b.get(rp.authorize(verifier, "s", "n"))), "s")
	tok, err := rp.config.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rp.verifier.Verify(t.Context(), tok.Extra("id_token").(string)); err != nil {
		t.Fatal(err)
	}
}

func retrieveCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// code runs the browser part for the trusted client and returns a code.
func trustedCode(t *testing.T, s *server, rp *relyingParty, verifier string) string {
	t.Helper()
	b := newBrowser(t)
	return callback(t, s, login(b, b.get(rp.authorize(verifier, "s", "n"))), "s").Get("code")
}

func TestCodeFlowRefusals(t *testing.T) {
	for _, be := range gormtest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := codeServer(t, newServer(t, be.Open(t)))
			ctx := t.Context()
			rp := newRelyingParty(t, s, rpTrusted, secret)
			public := newRelyingParty(t, s, rpID, "")

			t.Run("no redirect for unknown client or redirect mismatch", func(t *testing.T) {
				good := rp.authorize(oauth2.GenerateVerifier(), "s", "n")
				for name, edit := range map[string]func(url.Values){
					"unknown client":    func(q url.Values) { q.Set("client_id", "nobody") },
					"redirect mismatch": func(q url.Values) { q.Set("redirect_uri", "https://evil.example/callback") },
					"redirect path":     func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:5555/callback/x") },
				} {
					u, _ := url.Parse(good)
					q := u.Query()
					edit(q)
					u.RawQuery = q.Encode()
					p := newBrowser(t).get(u.String())
					if p.status != http.StatusBadRequest || p.header.Get("Location") != "" || !strings.Contains(p.body, "<html") {
						t.Errorf("%s: status %d, Location %q", name, p.status, p.header.Get("Location"))
					}
				}
			})
			t.Run("plain or missing challenge redirects invalid_request", func(t *testing.T) {
				for name, opts := range map[string][]oauth2.AuthCodeOption{
					"missing": nil,
					"plain": {oauth2.SetAuthURLParam("code_challenge", oauth2.GenerateVerifier()),
						oauth2.SetAuthURLParam("code_challenge_method", "plain")},
				} {
					p := newBrowser(t).get(rp.config.AuthCodeURL("st", opts...))
					q := callback(t, s, p, "st")
					if q.Get("error") != "invalid_request" || q.Get("code") != "" {
						t.Errorf("%s: callback %v", name, q)
					}
				}
			})
			t.Run("wrong verifier spends the code", func(t *testing.T) {
				verifier := oauth2.GenerateVerifier()
				code := trustedCode(t, s, rp, verifier)
				_, err := rp.config.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
				if retrieveCode(err) != "invalid_grant" {
					t.Fatalf("wrong verifier: %v", err)
				}
				if _, err := rp.config.Exchange(ctx, code, oauth2.VerifierOption(verifier)); retrieveCode(err) != "invalid_grant" {
					t.Fatalf("the code survived a wrong verifier: %v", err)
				}
			})
			t.Run("replay revokes the session", func(t *testing.T) {
				verifier := oauth2.GenerateVerifier()
				code := trustedCode(t, s, rp, verifier)
				tok, err := rp.config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := rp.config.Exchange(ctx, code, oauth2.VerifierOption(verifier)); retrieveCode(err) != "invalid_grant" {
					t.Fatalf("replay: %v", err)
				}
				tok.Expiry = time.Now().Add(-time.Minute)
				if _, err := rp.config.TokenSource(ctx, tok).Token(); retrieveCode(err) != "invalid_grant" {
					t.Fatalf("refresh after replay: %v", err)
				}
				if _, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
					t.Fatal("userinfo answers for a revoked session")
				}
			})
			t.Run("code of another client", func(t *testing.T) {
				verifier := oauth2.GenerateVerifier()
				code := trustedCode(t, s, rp, verifier)
				if _, err := public.config.Exchange(ctx, code, oauth2.VerifierOption(verifier)); retrieveCode(err) != "invalid_grant" {
					t.Fatalf("another client's code: %v", err)
				}
			})
			t.Run("wrong password never yields a code", func(t *testing.T) {
				b := newBrowser(t)
				p := b.submit(b.get(rp.authorize(oauth2.GenerateVerifier(), "s", "n")),
					map[string]string{"username": "alice", "password": "wrong password"})
				if p.status != http.StatusBadRequest || p.header.Get("Location") != "" ||
					!strings.Contains(p.body, "Incorrect username or password") || !strings.Contains(p.body, `name="password"`) {
					t.Fatalf("wrong password: %d %q", p.status, p.header.Get("Location"))
				}
				p = b.submit(p, map[string]string{"username": "nobody", "password": "wrong password"})
				if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Incorrect username or password") {
					t.Fatalf("unknown user: %d", p.status)
				}
			})
			t.Run("CSRF token missing or foreign", func(t *testing.T) {
				b := newBrowser(t)
				p := b.get(rp.authorize(oauth2.GenerateVerifier(), "s", "n"))
				p.body = strings.Replace(p.body, `name="csrf_token"`, `name="x"`, 1)
				if got := login(b, p); got.status != http.StatusForbidden || got.header.Get("Location") != "" {
					t.Fatalf("no CSRF token: %d %q", got.status, got.header.Get("Location"))
				}
				// A form fetched by another browser (the attacker's) fails in this one.
				other := newBrowser(t)
				foreign := other.get(rp.authorize(oauth2.GenerateVerifier(), "s", "n"))
				if got := login(b, foreign); got.status != http.StatusForbidden {
					t.Fatalf("foreign CSRF token: %d", got.status)
				}
			})
			t.Run("consent denied", func(t *testing.T) {
				b := newBrowser(t)
				p := login(b, b.get(public.authorize(oauth2.GenerateVerifier(), "st-d", "n")))
				q := callback(t, s, b.submit(p, nil, "consent", "deny"), "st-d")
				if q.Get("error") != "access_denied" || q.Get("code") != "" {
					t.Fatalf("deny: %v", q)
				}
			})
			t.Run("throttled login", func(t *testing.T) {
				b := newBrowser(t)
				p := b.get(rp.authorize(oauth2.GenerateVerifier(), "s", "n"))
				var got page
				for range 6 {
					got = b.submit(p, map[string]string{"username": "mallory", "password": "guess-guess"})
				}
				if got.status != http.StatusTooManyRequests || got.header.Get("Retry-After") == "" || !strings.Contains(got.body, "Too many") {
					t.Fatalf("sixth failure: %d Retry-After %q", got.status, got.header.Get("Retry-After"))
				}
			})
		})
	}
}

func TestDiscoveryOpenID(t *testing.T) {
	s := sqliteServer(t)
	resp, body := do(t, cfRequest(t, "GET", s.URL+"/.well-known/openid-configuration", nil))
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("discovery ACAO %q", resp.Header.Get("Access-Control-Allow-Origin"))
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "response_types_supported",
		"subject_types_supported", "id_token_signing_alg_values_supported", "scopes_supported", "claims_supported",
		"code_challenge_methods_supported", "grant_types_supported", "token_endpoint_auth_methods_supported",
		"authorization_response_iss_parameter_supported", "revocation_endpoint", "introspection_endpoint"} {
		if _, ok := m[k]; !ok {
			t.Errorf("discovery lacks %s", k)
		}
	}
	if m["authorization_response_iss_parameter_supported"] != true || !slices.Contains(toStrings(m["code_challenge_methods_supported"]), "S256") ||
		len(toStrings(m["code_challenge_methods_supported"])) != 1 || !slices.Contains(toStrings(m["grant_types_supported"]), "authorization_code") {
		t.Errorf("discovery %s", body)
	}
	resp, _ = do(t, cfRequest(t, "GET", s.URL+"/.well-known/jwks.json", nil))
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("JWKS ACAO %q", resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func cfRequest(t *testing.T, method, u string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.WithoutCancel(t.Context()), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestCORSPerClient(t *testing.T) {
	s := codeServer(t, sqliteServer(t))
	for _, tt := range []struct {
		origin string
		want   string
	}{{rpOrigin, rpOrigin}, {"https://evil.example", ""}} {
		req := cfRequest(t, "OPTIONS", s.URL+"/oauth2/token", nil)
		req.Header.Set("Origin", tt.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, _ := do(t, req)
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.want {
			t.Errorf("preflight from %s: ACAO %q, want %q", tt.origin, got, tt.want)
		}
	}
	// A token request: the header only when the origin is the client's own.
	for _, tt := range []struct {
		client, origin, want string
	}{{rpID, rpOrigin, rpOrigin}, {rpID, "https://evil.example", ""}, {"spa", rpOrigin, ""}} {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {tt.client}}
		req := cfRequest(t, "POST", s.URL+"/oauth2/token", bytes.NewReader([]byte(form.Encode())))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", tt.origin)
		resp, body := do(t, req)
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.want || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s from %s: ACAO %q (status %d %s), want %q", tt.client, tt.origin, got, resp.StatusCode, body, tt.want)
		}
	}
}
