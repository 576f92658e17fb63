package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// usersAPI calls the users admin API as the ops client and returns the
// status and the decoded body (nil when empty).
func (s *server) usersAPI(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	return s.usersAPIAs(t, "Bearer "+s.token(t, "ops"), method, path, "application/json", body)
}

func (s *server) usersAPIAs(t *testing.T, authz, method, path, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, raw := do(t, req)
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%s %s: Cache-Control %q", method, path, resp.Header.Get("Cache-Control"))
	}
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: body %q", method, path, raw)
		}
	}
	if resp.StatusCode >= 400 && (m["error"] == nil || m["error_description"] == nil) {
		t.Fatalf("%s %s: error body %q", method, path, raw)
	}
	return resp.StatusCode, m
}

// checkUserShape: every member of a user is present with its type.
func checkUserShape(t *testing.T, u any) map[string]any {
	t.Helper()
	m, ok := u.(map[string]any)
	if !ok || len(m) != 5 {
		t.Fatalf("user %v: want exactly id, username, roles, disabled, created_at", u)
	}
	_, id := m["id"].(string)
	_, name := m["username"].(string)
	_, roles := m["roles"].([]any)
	_, disabled := m["disabled"].(bool)
	_, created := m["created_at"].(string)
	if !id || !name || !roles || !disabled || !created {
		t.Fatalf("user %v: a member is missing or has the wrong type", m)
	}
	return m
}

func (s *server) loginWith(t *testing.T, user, pw string) (*oauth2.Token, error) {
	return s.oauth2Config("spa", "", oauth2.AuthStyleInParams).PasswordCredentialsToken(context.WithoutCancel(t.Context()), user, pw)
}

func (s *server) refreshes(t *testing.T, tok *oauth2.Token) bool {
	t.Helper()
	_, err := s.oauth2Config("spa", "", oauth2.AuthStyleInParams).TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	return err == nil
}

// TestAdminUsersAPI: SPEC §7 users admin API, each endpoint and its effect
// on sessions and logins.
func TestAdminUsersAPI(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b.Open(t))
			ctx := t.Context()

			status, body := s.usersAPI(t, "POST", "/admin/v1/users", `{"username":"bob","password":"bob's password","roles":["admin","admin"]}`)
			if status != 201 {
				t.Fatalf("create: %d %v", status, body)
			}
			if bob := checkUserShape(t, body); bob["username"] != "bob" || fmt.Sprint(bob["roles"]) != "[admin]" || bob["disabled"] != false {
				t.Fatalf("created %v", bob)
			}
			if stored, err := s.store.UserByUsername(ctx, "bob"); err != nil || stored.ID != body["id"] || !strings.HasPrefix(stored.PasswordHash, "$argon2id$") {
				t.Fatalf("stored bob %+v, %v", stored, err)
			}
			if _, err := s.loginWith(t, "bob", "bob's password"); err != nil {
				t.Fatalf("bob logs in: %v", err)
			}
			status, body = s.usersAPI(t, "POST", "/admin/v1/users", `{"username":"carol","password":"carol's password"}`)
			if status != 201 || fmt.Sprint(checkUserShape(t, body)["roles"]) != "[]" {
				t.Fatalf("create without roles: %d %v", status, body)
			}

			status, body = s.usersAPI(t, "GET", "/admin/v1/users", "")
			if status != 200 || body["next"] != "" {
				t.Fatalf("list: %d %v", status, body)
			}
			var names []string
			for _, u := range body["users"].([]any) {
				names = append(names, checkUserShape(t, u)["username"].(string))
			}
			if !slices.Equal(names, []string{"alice", "bob", "carol"}) {
				t.Fatalf("listed %q", names)
			}

			status, body = s.usersAPI(t, "GET", "/admin/v1/users/alice", "")
			if status != 200 || checkUserShape(t, body)["username"] != "alice" || fmt.Sprint(body["roles"]) != "[]" {
				t.Fatalf("get alice: %d %v", status, body)
			}

			// password: the old one stops working, sessions end.
			tok := s.login(t, "spa", "")
			status, body = s.usersAPI(t, "PATCH", "/admin/v1/users/alice", `{"password":"a new password"}`)
			if status != 200 || checkUserShape(t, body)["username"] != "alice" {
				t.Fatalf("set password: %d %v", status, body)
			}
			if s.refreshes(t, tok) {
				t.Fatal("a session survived the password change")
			}
			if _, err := s.loginWith(t, "alice", password); err == nil {
				t.Fatal("the old password still logs in")
			}
			tok, err := s.loginWith(t, "alice", "a new password")
			if err != nil {
				t.Fatalf("new password: %v", err)
			}

			// roles: granting keeps the sessions, taking admin away ends them.
			if status, body = s.usersAPI(t, "PATCH", "/admin/v1/users/alice", `{"roles":["admin"]}`); status != 200 || fmt.Sprint(body["roles"]) != "[admin]" {
				t.Fatalf("grant: %d %v", status, body)
			}
			if !s.refreshes(t, tok) {
				t.Fatal("granting a role ended a session")
			}
			tok, _ = s.loginWith(t, "alice", "a new password")
			if status, body = s.usersAPI(t, "PATCH", "/admin/v1/users/alice", `{"roles":[]}`); status != 200 || fmt.Sprint(body["roles"]) != "[]" {
				t.Fatalf("revoke: %d %v", status, body)
			}
			if s.refreshes(t, tok) {
				t.Fatal("a session survived losing the admin role")
			}

			// disabled: true ends sessions and refuses logins; false lets in again.
			tok, _ = s.loginWith(t, "alice", "a new password")
			if status, body = s.usersAPI(t, "PATCH", "/admin/v1/users/alice", `{"disabled":true}`); status != 200 || body["disabled"] != true {
				t.Fatalf("disable: %d %v", status, body)
			}
			if s.refreshes(t, tok) {
				t.Fatal("a session survived disabling")
			}
			if _, err := s.loginWith(t, "alice", "a new password"); err == nil {
				t.Fatal("a disabled user logged in")
			}
			if status, body = s.usersAPI(t, "PATCH", "/admin/v1/users/alice", `{"disabled":false}`); status != 200 || body["disabled"] != false {
				t.Fatalf("enable: %d %v", status, body)
			}
			tok, err = s.loginWith(t, "alice", "a new password")
			if err != nil {
				t.Fatalf("enabled user: %v", err)
			}

			// delete: the user, its sessions and tokens are gone.
			alice, _ := s.store.UserByUsername(ctx, "alice")
			if status, body = s.usersAPI(t, "DELETE", "/admin/v1/users/alice", ""); status != 204 || body != nil {
				t.Fatalf("delete: %d %v", status, body)
			}
			if page, err := s.store.SessionsByUser(ctx, alice.ID, "", 100); err != nil || len(page) != 0 {
				t.Fatalf("sessions after delete: %d %v", len(page), err)
			}
			if s.refreshes(t, tok) {
				t.Fatal("a deleted user's session refreshed")
			}
			for _, method := range []string{"GET", "DELETE"} {
				if status, body = s.usersAPI(t, method, "/admin/v1/users/alice", ""); status != 404 || body["error"] != "not_found" {
					t.Fatalf("%s deleted user: %d %v", method, status, body)
				}
			}
			if status, body = s.usersAPI(t, "PATCH", "/admin/v1/users/alice", `{"disabled":true}`); status != 404 {
				t.Fatalf("PATCH deleted user: %d %v", status, body)
			}
		})
	}
}

// TestAdminUsersBadInput: malformed, mistyped or refused bodies and
// parameters are answered with a 4xx and write nothing.
func TestAdminUsersBadInput(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b.Open(t))
			ctx := t.Context()
			before, err := s.store.UserByUsername(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			tok := s.login(t, "spa", "")
			ops := "Bearer " + s.token(t, "ops")
			const ctJSON = "application/json"
			tests := []struct {
				name, authz, method, path, ctype, body string
				status                                 int
				code                                   string
			}{
				{"no token", "", "GET", "/admin/v1/users", "", "", 401, "unauthorized"},
				{"no admin scope", "Bearer " + s.token(t, "worker"), "POST", "/admin/v1/users", ctJSON, `{"username":"x","password":"longenough"}`, 403, "insufficient_scope"},
				{"limit zero", ops, "GET", "/admin/v1/users?limit=0", "", "", 400, "invalid_request"},
				{"limit too big", ops, "GET", "/admin/v1/users?limit=501", "", "", 400, "invalid_request"},
				{"limit not a number", ops, "GET", "/admin/v1/users?limit=ten", "", "", 400, "invalid_request"},
				{"limit empty", ops, "GET", "/admin/v1/users?limit=", "", "", 400, "invalid_request"},
				{"after with a control", ops, "GET", "/admin/v1/users?after=%01", "", "", 400, "invalid_request"},
				{"duplicate", ops, "POST", "/admin/v1/users", ctJSON, `{"username":"alice","password":"longenough"}`, 409, "conflict"},
				{"malformed", ops, "POST", "/admin/v1/users", ctJSON, `{"username":"x",`, 400, "invalid_request"},
				{"not an object", ops, "POST", "/admin/v1/users", ctJSON, `["x"]`, 400, "invalid_request"},
				{"empty body", ops, "POST", "/admin/v1/users", ctJSON, ` `, 400, "invalid_request"},
				{"trailing data", ops, "POST", "/admin/v1/users", ctJSON, `{"username":"x","password":"longenough"}}`, 400, "invalid_request"},
				{"two objects", ops, "POST", "/admin/v1/users", ctJSON, `{"username":"x","password":"longenough"} {}`, 400, "invalid_request"},
				{"unknown field", ops, "POST", "/admin/v1/users", ctJSON, `{"username":"x","password":"longenough","admin":true}`, 400, "invalid_request"},
				{"wrong type", ops, "POST", "/admin/v1/users", ctJSON, `{"username":"x","password":12345678}`, 400, "invalid_request"},
				{"roles not a list", ops, "POST", "/admin/v1/users", ctJSON, `{"username":"x","password":"longenough","roles":"admin"}`, 400, "invalid_request"},
				{"unknown role", ops, "POST", "/admin/v1/users", ctJSON, `{"username":"x","password":"longenough","roles":["root"]}`, 400, "invalid_request"},
				{"no password", ops, "POST", "/admin/v1/users", ctJSON, `{"username":"x"}`, 400, "invalid_request"},
				{"short password", ops, "POST", "/admin/v1/users", ctJSON, `{"username":"x","password":"short"}`, 400, "invalid_request"},
				{"username with space", ops, "POST", "/admin/v1/users", ctJSON, `{"username":"x y","password":"longenough"}`, 400, "invalid_request"},
				{"empty username", ops, "POST", "/admin/v1/users", ctJSON, `{"username":"","password":"longenough"}`, 400, "invalid_request"},
				{"form body", ops, "POST", "/admin/v1/users", "application/x-www-form-urlencoded", `username=x&password=longenough`, 400, "invalid_request"},
				{"too large", ops, "POST", "/admin/v1/users", ctJSON, `{"username":"x","password":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "invalid_request"},
				{"patch unknown user", ops, "PATCH", "/admin/v1/users/nobody", ctJSON, `{"disabled":true}`, 404, "not_found"},
				{"get unknown user", ops, "GET", "/admin/v1/users/nobody", "", "", 404, "not_found"},
				{"delete unknown user", ops, "DELETE", "/admin/v1/users/nobody", "", "", 404, "not_found"},
				{"patch nothing", ops, "PATCH", "/admin/v1/users/alice", ctJSON, `{}`, 400, "invalid_request"},
				{"patch null", ops, "PATCH", "/admin/v1/users/alice", ctJSON, `{"roles":null}`, 400, "invalid_request"},
				{"patch unknown field", ops, "PATCH", "/admin/v1/users/alice", ctJSON, `{"disabled":true,"username":"eve"}`, 400, "invalid_request"},
				{"patch disabled as string", ops, "PATCH", "/admin/v1/users/alice", ctJSON, `{"disabled":"true"}`, 400, "invalid_request"},
				{"patch roles wrong element", ops, "PATCH", "/admin/v1/users/alice", ctJSON, `{"roles":[1]}`, 400, "invalid_request"},
				{"patch unknown role", ops, "PATCH", "/admin/v1/users/alice", ctJSON, `{"disabled":true,"roles":["admin","root"]}`, 400, "invalid_request"},
				{"patch short password", ops, "PATCH", "/admin/v1/users/alice", ctJSON, `{"disabled":true,"password":"short"}`, 400, "invalid_request"},
				{"patch malformed", ops, "PATCH", "/admin/v1/users/alice", ctJSON, `{"disabled":tru}`, 400, "invalid_request"},
				{"patch no content type", ops, "PATCH", "/admin/v1/users/alice", "", `{"disabled":true}`, 400, "invalid_request"},
			}
			for _, tt := range tests {
				status, body := s.usersAPIAs(t, tt.authz, tt.method, tt.path, tt.ctype, tt.body)
				if status != tt.status || body["error"] != tt.code {
					t.Errorf("%s: %d %v, want %d %s", tt.name, status, body, tt.status, tt.code)
				}
			}
			// Nothing was written.
			page, err := s.store.Users(ctx, "", 10)
			if err != nil || len(page) != 1 {
				t.Fatalf("users after refused requests: %+v, %v", page, err)
			}
			if after := page[0]; after.PasswordHash != before.PasswordHash || after.Disabled || len(after.Roles) != 0 {
				t.Fatalf("alice changed by refused requests: %+v", after)
			}
			if !s.refreshes(t, tok) {
				t.Fatal("a refused request ended alice's session")
			}
		})
	}
}

// TestAdminUsersPaging: keyset pages of GET /admin/v1/users cover every
// user once, in username order.
func TestAdminUsersPaging(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b.Open(t))
			want := []string{"alice"}
			for i := range 7 {
				name := fmt.Sprintf("user%d", i)
				if err := s.store.CreateUser(t.Context(), models.User{ID: "id-" + name, Username: name, PasswordHash: "h"}); err != nil {
					t.Fatal(err)
				}
				want = append(want, name)
			}
			var got []string
			path := "/admin/v1/users?limit=3"
			for pages := 0; ; pages++ {
				status, body := s.usersAPI(t, "GET", path, "")
				if status != 200 || pages > 3 {
					t.Fatalf("page %d: %d %v", pages, status, body)
				}
				for _, u := range body["users"].([]any) {
					got = append(got, checkUserShape(t, u)["username"].(string))
				}
				next := body["next"].(string)
				if next == "" {
					break
				}
				path = "/admin/v1/users?limit=3&after=" + next
			}
			if !slices.Equal(got, want) {
				t.Fatalf("paged %q, want %q", got, want)
			}
		})
	}
}

// TestAdminUsersParallel: of concurrent creations of one username exactly
// one succeeds (the others 409), and logins racing the deletion of their
// user leave no session of it.
func TestAdminUsersParallel(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b.Open(t))
			ops := "Bearer " + s.token(t, "ops")
			const n = 24
			var wg sync.WaitGroup
			statuses := make(chan int, n)
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					status, _ := s.usersAPIAs(t, ops, "POST", "/admin/v1/users", "application/json", `{"username":"dave","password":"longenough"}`)
					statuses <- status
				}()
			}
			wg.Wait()
			close(statuses)
			count := map[int]int{}
			for st := range statuses {
				count[st]++
			}
			if count[201] != 1 || count[409] != n-1 {
				t.Fatalf("concurrent creations: %v, want one 201 and %d 409", count, n-1)
			}

			alice, _ := s.store.UserByUsername(t.Context(), "alice")
			logins := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if i == n/2 {
						if status, body := s.usersAPIAs(t, ops, "DELETE", "/admin/v1/users/alice", "", ""); status != 204 {
							t.Errorf("delete: %d %v", status, body)
						}
						return
					}
					_, err := s.loginWith(t, "alice", password)
					logins <- err
				}()
			}
			wg.Wait()
			close(logins)
			ok := 0
			for err := range logins {
				if err == nil {
					ok++
				}
			}
			if page, err := s.store.SessionsByUser(t.Context(), alice.ID, "", 100); err != nil || len(page) != 0 {
				t.Fatalf("%d sessions of the deleted user (%d logins succeeded): %v", len(page), ok, err)
			}
			t.Logf("%d of %d logins succeeded around the delete", ok, n-1)
		})
	}
}
