package handlers_test

import (
	"encoding/json"
	"net/url"
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
	for _, name := range []string{"team/alice", "team", "50%off", "a?b#c", "ü/../x"} {
		body, _ := json.Marshal(map[string]string{"username": name, "password": "a long enough password"})
		if status, got := s.usersAPI(t, "POST", "/admin/v1/users", string(body)); status != 201 || got["username"] != name {
			t.Fatalf("create user %q: %d %v", name, status, got)
		}
		path := "/admin/v1/users/" + url.PathEscape(name)
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
}
