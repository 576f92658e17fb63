package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/batonhq/baton/oauth"
)

func (s *server) token(t *testing.T, id string) string {
	t.Helper()
	conf := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: s.URL + "/oauth2/token"}
	tok, err := conf.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func (s *server) rotate(t *testing.T, bearer string) (*http.Response, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/admin/v1/keys/rotate", nil)
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	resp, body := do(t, req)
	var m map[string]string
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return resp, m
}

func TestAdminAuthorization(t *testing.T) {
	s := sqliteServer(t)
	pw, err := s.oauth2Config("spa", "", oauth2.AuthStyleInParams).PasswordCredentialsToken(t.Context(), "alice", password)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, authz string
		status      int
		code, www   string
	}{
		{"no token", "", 401, "unauthorized", `Bearer realm="baton"`},
		{"basic auth", "Basic YTpi", 401, "unauthorized", `Bearer realm="baton"`},
		{"garbage", "Bearer not.a.jwt", 401, "invalid_token", `error="invalid_token"`},
		{"refresh token", "Bearer " + pw.RefreshToken, 401, "invalid_token", `error="invalid_token"`},
		{"forged", "Bearer " + forge(s.token(t, "ops")), 401, "invalid_token", `error="invalid_token"`},
		{"without admin scope", "Bearer " + s.token(t, "worker"), 403, "insufficient_scope", `error="insufficient_scope", scope="admin"`},
		{"user token without admin scope", "Bearer " + pw.AccessToken, 403, "insufficient_scope", `scope="admin"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := s.rotate(t, tt.authz)
			if resp.StatusCode != tt.status || body["error"] != tt.code {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
			if www := resp.Header.Get("WWW-Authenticate"); !strings.Contains(www, tt.www) {
				t.Fatalf("WWW-Authenticate %q, want it to contain %q", www, tt.www)
			}
		})
	}
}

// forge replaces the payload of a signed token, keeping its signature.
func forge(token string) string {
	parts := strings.Split(token, ".")
	return parts[0] + ".eyJzY29wZSI6ImFkbWluIn0." + parts[2]
}

func TestAdminRotateKeys(t *testing.T) {
	s := sqliteServer(t)
	admin := "Bearer " + s.token(t, "ops")
	first := s.ring.ActiveKeyID()
	resp, body := s.rotate(t, admin)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("rotation to a key published a moment ago: %d %v, want 409", resp.StatusCode, body)
	}
	s.clock.Advance(11 * time.Minute) // the next key has been published longer than the JWKS max-age
	resp, body = s.rotate(t, admin)
	if resp.StatusCode != 200 || body["active_kid"] == first || body["active_kid"] != s.ring.ActiveKeyID() {
		t.Fatalf("rotate: %d %v", resp.StatusCode, body)
	}
	// Tokens signed before the rotation still verify: the old key is retired, not gone.
	if resp, body := s.rotate(t, admin); resp.StatusCode != http.StatusConflict {
		t.Fatalf("admin token from the old key: %d %v", resp.StatusCode, body)
	}
}

// TestAdminTokenDiesWithItsSession: a user's admin token stops working when
// its session is revoked by reuse detection.
func TestAdminTokenDiesWithItsSession(t *testing.T) {
	s := sqliteServer(t)
	if _, err := s.svc.Admin.AddUser(t.Context(), "root", password, oauth.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	conf := s.oauth2Config("ops", secret, oauth2.AuthStyleInHeader)
	conf.Scopes = []string{"admin"}
	tok, err := conf.PasswordCredentialsToken(t.Context(), "root", password)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := s.rotate(t, "Bearer "+tok.AccessToken); resp.StatusCode != http.StatusConflict {
		t.Fatalf("admin user token: %d %v", resp.StatusCode, body)
	}
	next, err := conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: next.RefreshToken}).Token(); err != nil {
		t.Fatal(err)
	}
	if _, err := conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Fatal("replay of a spent token succeeded")
	}
	if resp, body := s.rotate(t, "Bearer "+tok.AccessToken); resp.StatusCode != 401 {
		t.Fatalf("token of a revoked session: %d %v, want 401", resp.StatusCode, body)
	}
}
