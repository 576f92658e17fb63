package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"golang.org/x/oauth2"
)

// TestAccessTokenVerifiesWithThirdPartyLibrary verifies an access token the
// way a resource server would, with lestrrat-go/jwx: fetch the JWKS from the
// metadata's jwks_uri, check signature, issuer, audience and typ.
func TestAccessTokenVerifiesWithThirdPartyLibrary(t *testing.T) {
	s := sqliteServer(t)
	tok, err := s.oauth2Config("spa", "", oauth2.AuthStyleInParams).PasswordCredentialsToken(t.Context(), "alice", password)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", s.URL+"/.well-known/oauth-authorization-server", nil)
	_, body := do(t, req)
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &meta); err != nil {
		t.Fatal(err)
	}
	set, err := jwk.Fetch(t.Context(), meta.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.Parse([]byte(tok.AccessToken), jwt.WithKeySet(set),
		jwt.WithIssuer(s.URL), jwt.WithAudience(s.URL), jwt.WithValidate(true))
	if err != nil {
		t.Fatalf("verify with jwx: %v", err)
	}
	var sid, clientID string
	if err := parsed.Get("sid", &sid); err != nil || sid == "" {
		t.Fatalf("sid claim: %v", err)
	}
	if err := parsed.Get("client_id", &clientID); err != nil || clientID != "spa" {
		t.Fatalf("client_id claim %q: %v", clientID, err)
	}
	msg, err := jws.Parse([]byte(tok.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	if typ, _ := hdr.Type(); typ != "at+jwt" {
		t.Fatalf("typ %q, want at+jwt", typ)
	}
	if kid, _ := hdr.KeyID(); kid == "" {
		t.Fatal("no kid")
	}
	// A modified token must not verify.
	parts := strings.Split(tok.AccessToken, ".")
	forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	if _, err := jwt.Parse([]byte(forged), jwt.WithKeySet(set)); err == nil {
		t.Fatal("a forged signature verified")
	}
}

func TestJWKS(t *testing.T) {
	s := sqliteServer(t)
	req, _ := http.NewRequest("GET", s.URL+"/.well-known/jwks.json", nil)
	resp, body := do(t, req)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=600" {
		t.Fatalf("Cache-Control %q", cc)
	}
	etag := resp.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) {
		t.Fatalf("ETag %q is not a strong validator", etag)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("JWKS %s: %v", body, err)
	}
	for _, k := range set.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := k[private]; ok {
				t.Fatalf("JWKS publishes private member %q", private)
			}
		}
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		req, _ := http.NewRequest("GET", s.URL+"/.well-known/jwks.json", nil)
		req.Header.Set("If-None-Match", inm)
		resp, body := do(t, req)
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Fatalf("If-None-Match %s: status %d", inm, resp.StatusCode)
		}
	}
	req, _ = http.NewRequest("GET", s.URL+"/.well-known/jwks.json", nil)
	req.Header.Set("If-None-Match", `"stale"`)
	if resp, _ := do(t, req); resp.StatusCode != 200 {
		t.Fatalf("stale ETag: status %d", resp.StatusCode)
	}
}

func TestMetadata(t *testing.T) {
	s := sqliteServer(t)
	var docs [][]byte
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		resp, body := do(t, req)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		docs = append(docs, body)
	}
	if string(docs[0]) != string(docs[1]) {
		t.Fatal("the two metadata documents differ")
	}
	var m map[string]any
	if err := json.Unmarshal(docs[0], &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"issuer":         s.URL,
		"token_endpoint": s.URL + "/oauth2/token",
		"jwks_uri":       s.URL + "/.well-known/jwks.json",
	}
	for k, v := range want {
		if m[k] != v {
			t.Fatalf("%s = %v, want %v", k, m[k], v)
		}
	}
	for _, k := range []string{"grant_types_supported", "token_endpoint_auth_methods_supported", "response_types_supported"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("metadata lacks %s", k)
		}
	}
}

func TestHealthAndNotFound(t *testing.T) {
	s := sqliteServer(t)
	for path, status := range map[string]int{"/healthz": 200, "/readyz": 200, "/nope": 404} {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		if resp, body := do(t, req); resp.StatusCode != status || !json.Valid(body) {
			t.Fatalf("%s: status %d body %s", path, resp.StatusCode, body)
		}
	}
}
