package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// TestAdminPathsCarryAnyName: a username or client id may hold any
// printable character but spaces (oauth's checkName), "/" and "%" among
// them; percent-encoded in the path, the admin API finds it, and a name
// that merely contains another's name is a different resource.
func TestAdminPathsCarryAnyName(t *testing.T) {
	s := newServer(t, gormtest.OpenSQLite(t))
	admin := s.token(t, "ops")
	for _, name := range []string{"team/alice", "team", "50%off", "a?b#c", "ü/../x", "a+b/c", "alice+1@example.com"} {
		body, _ := json.Marshal(map[string]string{"username": name, "password": "a long enough password"})
		req, _ := http.NewRequest("POST", s.URL+"/admin/v1/users", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, raw := do(t, req)
		path := "/admin/v1/users/" + url.PathEscape(name)
		if resp.StatusCode != 201 || resp.Header.Get("Location") != path {
			t.Fatalf("create user %q: %d, Location %q, want %q: %s", name, resp.StatusCode, resp.Header.Get("Location"), path, raw)
		}
		if status, got := s.usersAPI(t, "GET", path, ""); status != 200 || got["username"] != name {
			t.Fatalf("GET %s: %d %v, want the user %q", path, status, got, name)
		}
		if status, got := s.usersAPI(t, "PATCH", path, `{"disabled":true}`); status != 200 || got["username"] != name || got["disabled"] != true {
			t.Fatalf("PATCH %s: %d %v", path, status, got)
		}
		body, _ = json.Marshal(map[string]any{"client_id": name, "public": true, "grant_types": []string{"password", "refresh_token"}})
		if status, got := s.adminJSON(t, "POST", "/admin/v1/clients", admin, string(body)); status != 201 || got["client_id"] != name {
			t.Fatalf("create client %q: %d %v", name, status, got)
		}
		path = "/admin/v1/clients/" + url.PathEscape(name)
		if status, got := s.adminJSON(t, "GET", path, admin, ""); status != 200 || got["client_id"] != name {
			t.Fatalf("GET %s: %d %v, want the client %q", path, status, got, name)
		}
	}
	for _, name := range []string{"team/alice", "50%off"} {
		path := "/admin/v1/users/" + url.PathEscape(name)
		if status, _ := s.usersAPI(t, "DELETE", path, ""); status != 204 {
			t.Fatalf("DELETE %s: %d", path, status)
		}
		if status, _ := s.usersAPI(t, "GET", path, ""); status != 404 {
			t.Fatalf("GET %s after its deletion: %d, want 404", path, status)
		}
	}
	if status, got := s.usersAPI(t, "GET", "/admin/v1/users/team", ""); status != 200 || got["username"] != "team" {
		t.Fatalf("user team after team/alice was deleted: %d %v", status, got)
	}
	// No redirect to the path without its trailing slash: it would be
	// built from the decoded path, where the client "team/secret" becomes
	// the secret of the client "team", which a client following it rotates.
	if status, got := s.adminJSON(t, "POST", "/admin/v1/clients/team%2Fsecret/", admin, ""); status != 404 {
		t.Fatalf("POST with a trailing slash: %d %v, want 404", status, got)
	}
}
