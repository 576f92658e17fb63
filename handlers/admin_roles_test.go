package handlers_test

import (
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
)

// TestRevokedClientCredentialsTokenRefused: SPEC §7. Revoking a
// client_credentials admin token at /oauth2/revoke makes introspection
// answer active:false and the admin API refuse it with 401.
func TestRevokedClientCredentialsTokenRefused(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b.Open(t))
			admin := s.token(t, "ops")
			introspect := func() any {
				t.Helper()
				status, body := s.post(t, "/oauth2/introspect", basic("backend", secret), url.Values{"token": {admin}})
				if status != 200 {
					t.Fatalf("introspect: %d %v", status, body)
				}
				return body["active"]
			}
			if resp, body := s.rotate(t, "Bearer "+admin); resp.StatusCode != http.StatusConflict || introspect() != true {
				t.Fatalf("fresh admin token: %d %v", resp.StatusCode, body)
			}
			if status, body := s.post(t, "/oauth2/revoke", basic("ops", secret), url.Values{"token": {admin}}); status != 200 {
				t.Fatalf("revoke: %d %v", status, body)
			}
			if active := introspect(); active != false {
				t.Fatalf("revoked token: active %v, want false", active)
			}
			resp, body := s.rotate(t, "Bearer "+admin)
			if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_token" {
				t.Fatalf("admin API with a revoked token: %d %v, want 401 invalid_token", resp.StatusCode, body)
			}
		})
	}
}

// TestAdminAPINeedsAdminUser: SPEC §7. A user of a client registered with
// the admin scope is no admin unless the user holds the admin role, and
// loses the rights at once when the role is taken away.
func TestAdminAPINeedsAdminUser(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b.Open(t))
			ctx := t.Context()
			conf := s.oauth2Config("ops", secret, oauth2.AuthStyleInHeader)
			loginAs := func(user string, scopes ...string) *oauth2.Token {
				t.Helper()
				c := *conf
				c.Scopes = scopes
				tok, err := c.PasswordCredentialsToken(ctx, user, password)
				if err != nil {
					t.Fatalf("login %s: %v", user, err)
				}
				return tok
			}
			for _, scopes := range [][]string{nil, {"admin"}} {
				tok := loginAs("alice", scopes...)
				if got := scopeOf(tok); got != "" {
					t.Fatalf("alice asking %q got scope %q", scopes, got)
				}
				if resp, body := s.rotate(t, "Bearer "+tok.AccessToken); resp.StatusCode != http.StatusForbidden {
					t.Fatalf("ordinary user asking %q: admin API %d %v, want 403", scopes, resp.StatusCode, body)
				}
			}
			if _, err := s.svc.Admin.AddUser(ctx, "root", password, oauth.RoleAdmin); err != nil {
				t.Fatal(err)
			}
			if tok := loginAs("root"); scopeOf(tok) != "" { // admin only when asked for
				t.Fatalf("omitted scope granted %q", scopeOf(tok))
			}
			tok := loginAs("root", "admin")
			if scopeOf(tok) != "admin" {
				t.Fatalf("admin user asking admin got scope %q", scopeOf(tok))
			}
			if resp, body := s.rotate(t, "Bearer "+tok.AccessToken); resp.StatusCode != http.StatusConflict {
				t.Fatalf("admin user: %d %v, want 409 (allowed, key too young)", resp.StatusCode, body)
			}
			if _, err := s.svc.Admin.RevokeRole(ctx, "root", oauth.RoleAdmin); err != nil {
				t.Fatal(err)
			}
			// revoke-role ends the sessions granted under the role.
			if resp, body := s.rotate(t, "Bearer "+tok.AccessToken); resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_token" {
				t.Fatalf("after revoke-role: %d %v, want 401 invalid_token", resp.StatusCode, body)
			}
		})
	}
}

// scopeOf is the scope of a token response ("" when absent).
func scopeOf(tok *oauth2.Token) string {
	s, _ := tok.Extra("scope").(string)
	return s
}
