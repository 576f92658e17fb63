package handlers_test

import (
	"net/http"
	"testing"

	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// TestHeadAndPublicPreflight: HEAD is answered wherever GET is (RFC 9110
// §9.3.2), with GET's headers and no body, through the same middleware (the
// admin API still wants its token); discovery and JWKS answer a CORS
// preflight from any origin (SPEC §6), so that a browser may send them
// If-None-Match.
func TestHeadAndPublicPreflight(t *testing.T) {
	s := newServer(t, gormtest.OpenSQLite(t))
	send := func(method, path string, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, s.URL+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return do(t, req)
	}
	get, _ := send("GET", "/.well-known/jwks.json")
	for _, tc := range []struct {
		path   string
		header []string
		status int
	}{
		{"/healthz", nil, 200},
		{"/readyz", nil, 200},
		{"/.well-known/openid-configuration", nil, 200},
		{"/.well-known/jwks.json", nil, 200},
		{"/.well-known/jwks.json", []string{"If-None-Match", get.Header.Get("ETag")}, 304},
		{"/admin/v1/users", nil, 401},
		{"/oauth2/token", nil, 405},
	} {
		resp, body := send("HEAD", tc.path, tc.header...)
		if resp.StatusCode != tc.status || len(body) != 0 {
			t.Errorf("HEAD %s: %d with %d bytes of body, want %d and none", tc.path, resp.StatusCode, len(body), tc.status)
		}
	}
	if resp, _ := send("HEAD", "/.well-known/jwks.json"); resp.Header.Get("ETag") != get.Header.Get("ETag") ||
		resp.Header.Get("Cache-Control") != get.Header.Get("Cache-Control") || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("HEAD of the JWKS: headers %v, want GET's %v", resp.Header, get.Header)
	}
	for _, path := range []string{"/.well-known/jwks.json", "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		resp, _ := send("OPTIONS", path, "Origin", "https://any.example", "Access-Control-Request-Method", "GET",
			"Access-Control-Request-Headers", "if-none-match")
		h := resp.Header
		if resp.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Headers") != "if-none-match" ||
			h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("preflight of %s: %d %v", path, resp.StatusCode, h)
		}
	}
}
