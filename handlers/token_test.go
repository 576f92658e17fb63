package handlers_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/batonhq/baton/models/gormstore/gormtest"
)

func (s *server) oauth2Config(id, secret string, style oauth2.AuthStyle) *oauth2.Config {
	return &oauth2.Config{ClientID: id, ClientSecret: secret, Scopes: []string{"read"},
		Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/oauth2/token", AuthStyle: style}}
}

// TestOAuth2ClientFlow drives baton with golang.org/x/oauth2 as a client
// would: log in, refresh through a TokenSource, then replay a spent token.
func TestOAuth2ClientFlow(t *testing.T) {
	s := sqliteServer(t)
	for _, tt := range []struct {
		name, id, secret string
		style            oauth2.AuthStyle
	}{
		{"public", "spa", "", oauth2.AuthStyleInParams},
		{"basic", "backend", secret, oauth2.AuthStyleInHeader},
		{"post", "backend", secret, oauth2.AuthStyleInParams},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			conf := s.oauth2Config(tt.id, tt.secret, tt.style)
			tok, err := conf.PasswordCredentialsToken(ctx, "alice", password)
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken == "" || tok.AccessToken == "" || tok.Extra("scope") != "read" {
				t.Fatalf("token %+v", tok)
			}
			first := tok.RefreshToken
			tok.Expiry = tok.Expiry.Add(-24 * 60 * 60 * 1e9) // expired: the source must refresh
			fresh, err := conf.TokenSource(ctx, tok).Token()
			if err != nil {
				t.Fatal(err)
			}
			if fresh.RefreshToken == first {
				t.Fatal("refresh did not rotate")
			}
			// Within the grace window the old token yields the same successor.
			again, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: first}).Token()
			if err != nil {
				t.Fatal(err)
			}
			if again.RefreshToken != fresh.RefreshToken {
				t.Fatal("grace replay returned another successor")
			}
			// A refresh with the successor spends it; replaying the first token now is reuse.
			if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token(); err != nil {
				t.Fatal(err)
			}
			_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: first}).Token()
			var rerr *oauth2.RetrieveError
			if !errors.As(err, &rerr) || rerr.ErrorCode != "invalid_grant" {
				t.Fatalf("got %v, want invalid_grant", err)
			}
		})
	}
}

func TestClientCredentials(t *testing.T) {
	s := sqliteServer(t)
	conf := clientcredentials.Config{ClientID: "worker", ClientSecret: secret, TokenURL: s.URL + "/oauth2/token"}
	tok, err := conf.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" || tok.Extra("scope") != "jobs" {
		t.Fatalf("token %+v", tok)
	}
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

// TestTokenEndpointErrors covers every RFC 6749 §5.2 error the endpoint can
// return and a table of malformed requests: each gets a JSON 4xx with the
// right status, no-store headers, and WWW-Authenticate on 401.
func TestTokenEndpointErrors(t *testing.T) {
	s := sqliteServer(t)
	const formCT = "application/x-www-form-urlencoded"
	pw := form("grant_type", "password", "username", "alice", "password", password)
	tests := []struct {
		name, method, ct, authz, body string
		status                        int
		code                          string
	}{
		{"unsupported grant", "POST", formCT, "", form("grant_type", "implicit", "client_id", "spa"), 400, "unsupported_grant_type"},
		{"missing grant_type", "POST", formCT, "", form("client_id", "spa"), 400, "invalid_request"},
		{"no client", "POST", formCT, "", pw, 401, "invalid_client"},
		{"unknown client", "POST", formCT, basic("nobody", "x"), pw, 401, "invalid_client"},
		{"wrong secret basic", "POST", formCT, basic("backend", "wrong"), pw, 401, "invalid_client"},
		{"wrong secret post", "POST", formCT, "", pw + "&" + form("client_id", "backend", "client_secret", "wrong"), 401, "invalid_client"},
		{"confidential as public", "POST", formCT, "", pw + "&client_id=backend", 401, "invalid_client"},
		{"public with secret", "POST", formCT, basic("spa", "x"), pw, 401, "invalid_client"},
		{"bearer scheme", "POST", formCT, "Bearer abc", pw, 401, "invalid_client"},
		{"malformed basic", "POST", formCT, "Basic !!!", pw, 401, "invalid_client"},
		{"basic without colon", "POST", formCT, "Basic " + base64.StdEncoding.EncodeToString([]byte("backend")), pw, 401, "invalid_client"},
		{"two auth methods", "POST", formCT, basic("backend", secret), pw + "&client_secret=" + secret, 400, "invalid_request"},
		{"client_id mismatch", "POST", formCT, basic("backend", secret), pw + "&client_id=spa", 400, "invalid_request"},
		{"empty client_secret", "POST", formCT, "", pw + "&client_id=backend&client_secret=", 400, "invalid_request"},
		{"grant not allowed", "POST", formCT, basic("worker", secret), pw, 400, "unauthorized_client"},
		{"wrong password", "POST", formCT, "", form("grant_type", "password", "username", "alice", "password", "nope", "client_id", "spa"), 400, "invalid_grant"},
		{"missing password", "POST", formCT, "", form("grant_type", "password", "username", "alice", "client_id", "spa"), 400, "invalid_request"},
		{"scope not allowed", "POST", formCT, "", pw + "&client_id=spa&scope=admin", 400, "invalid_scope"},
		{"scope bad characters", "POST", formCT, "", pw + "&client_id=spa&scope=%22quoted%22", 400, "invalid_scope"},
		{"unknown refresh token", "POST", formCT, "", form("grant_type", "refresh_token", "refresh_token", "nope", "client_id", "spa"), 400, "invalid_grant"},
		{"missing refresh token", "POST", formCT, "", form("grant_type", "refresh_token", "client_id", "spa"), 400, "invalid_request"},
		{"repeated parameter", "POST", formCT, "", pw + "&client_id=spa&username=bob", 400, "invalid_request"},
		{"json body", "POST", "application/json", "", `{"grant_type":"password"}`, 400, "invalid_request"},
		{"no content type", "POST", "", "", pw + "&client_id=spa", 400, "invalid_request"},
		{"bad encoding", "POST", formCT, "", "grant_type=password&username=%zz", 400, "invalid_request"},
		{"too many parameters", "POST", formCT, "", manyParams(40), 400, "invalid_request"},
		{"value too long", "POST", formCT, "", pw + "&client_id=spa&scope=" + strings.Repeat("a", 5000), 400, "invalid_request"},
		{"body over 64 KiB", "POST", formCT, "", pw + "&client_id=spa&pad=" + strings.Repeat("x", 64<<10), 413, "invalid_request"},
		{"GET", "GET", "", "", "", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.URL+"/oauth2/token", strings.NewReader(tt.body))
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			resp, body := do(t, req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.status, body)
			}
			var e struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error != tt.code {
				t.Fatalf("body %s, want error %q", body, tt.code)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("content type %q", ct)
			}
			if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
				t.Fatalf("cache headers %v", resp.Header)
			}
			if www := resp.Header.Get("WWW-Authenticate"); (tt.status == 401) != strings.HasPrefix(www, "Basic ") {
				t.Fatalf("status %d with WWW-Authenticate %q", tt.status, www)
			}
		})
	}
}

func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString("p")
		b.WriteString(strings.Repeat("x", i+1))
		b.WriteString("=1")
	}
	return b.String()
}

func TestTokenResponseHeaders(t *testing.T) {
	s := sqliteServer(t)
	req, _ := http.NewRequest("POST", s.URL+"/oauth2/token",
		strings.NewReader(form("grant_type", "password", "username", "alice", "password", password, "client_id", "spa")))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	resp, body := do(t, req)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
		t.Fatalf("cache headers %v", resp.Header)
	}
	var tok map[string]any
	if err := json.Unmarshal(body, &tok); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"access_token", "token_type", "expires_in", "refresh_token", "scope"} {
		if _, ok := tok[k]; !ok {
			t.Fatalf("response lacks %q: %s", k, body)
		}
	}
}

// TestConcurrentRefreshHTTP races 200 requests presenting one refresh token
// over HTTP, on SQLite and Postgres: all 200, all the same successor.
func TestConcurrentRefreshHTTP(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b.Open(t))
			conf := s.oauth2Config("spa", "", oauth2.AuthStyleInParams)
			tok, err := conf.PasswordCredentialsToken(t.Context(), "alice", password)
			if err != nil {
				t.Fatal(err)
			}
			const n = 200
			type result struct {
				status  int
				refresh string
			}
			results := make([]result, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			body := form("grant_type", "refresh_token", "refresh_token", tok.RefreshToken, "client_id", "spa")
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					req, _ := http.NewRequest("POST", s.URL+"/oauth2/token", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						return
					}
					defer resp.Body.Close()
					var out struct {
						RefreshToken string `json:"refresh_token"`
					}
					_ = json.NewDecoder(resp.Body).Decode(&out)
					results[i] = result{resp.StatusCode, out.RefreshToken}
				}()
			}
			close(start)
			wg.Wait()
			for i, r := range results {
				if r.status != 200 || r.refresh != results[0].refresh || r.refresh == "" {
					t.Fatalf("request %d: status %d, successor same=%v", i, r.status, r.refresh == results[0].refresh)
				}
			}
		})
	}
}
