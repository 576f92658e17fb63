package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
)

// adminJSON sends a JSON request to the admin API and decodes the answer.
func (s *server) adminJSON(t *testing.T, method, path, bearer, body string) (int, map[string]any) {
	t.Helper()
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	} else {
		r = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, s.URL+path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, raw := do(t, req)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: body %q: %v", method, path, raw, err)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%s %s: Cache-Control %q", method, path, resp.Header.Get("Cache-Control"))
	}
	return resp.StatusCode, m
}

// clientKeys are the members of every client in the admin API (SPEC §7).
var clientKeys = []string{"client_id", "grant_types", "scope", "redirect_uris", "allowed_origins", "trusted", "public", "created_at"}

func checkClientShape(t *testing.T, m map[string]any, withSecret bool) {
	t.Helper()
	want := slices.Clone(clientKeys)
	if withSecret {
		want = append(want, "client_secret")
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("client members %q, want %q", got, want)
	}
	for _, k := range []string{"grant_types", "redirect_uris", "allowed_origins"} {
		if _, ok := m[k].([]any); !ok {
			t.Fatalf("%s is %v, want a list", k, m[k])
		}
	}
}

// storedClients reads every client id from the store.
func (s *server) storedClients(t *testing.T) []string {
	t.Helper()
	cs, err := s.store.Clients(t.Context(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

// TestAdminClients: SPEC §7 client administration over HTTP, with every
// kind of bad input answered 4xx and nothing written, on both databases.
func TestAdminClients(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b.Open(t))
			ctx := t.Context()
			admin := s.token(t, "ops")

			// List, in pages.
			status, body := s.adminJSON(t, "GET", "/admin/v1/clients?limit=3", admin, "")
			if status != 200 || len(body["clients"].([]any)) != 3 || body["next"] != "spa" {
				t.Fatalf("first page: %d %v", status, body)
			}
			for _, c := range body["clients"].([]any) {
				checkClientShape(t, c.(map[string]any), false)
			}
			status, body = s.adminJSON(t, "GET", "/admin/v1/clients?limit=3&after=spa", admin, "")
			if status != 200 || len(body["clients"].([]any)) != 1 || body["next"] != "" {
				t.Fatalf("second page: %d %v", status, body)
			}

			// Create.
			status, created := s.adminJSON(t, "POST", "/admin/v1/clients", admin,
				`{"client_id":"svc","grant_types":["client_credentials"],"scope":"jobs admin"}`)
			if status != 201 || created["scope"] != "jobs admin" || created["public"] != false {
				t.Fatalf("create: %d %v", status, created)
			}
			checkClientShape(t, created, true)
			first := created["client_secret"].(string)
			if len(first) != 43 {
				t.Fatalf("generated secret %d characters, want 43 (256 bits base64url)", len(first))
			}
			svcToken := func(secret string) (*oauth2.Token, error) {
				return (&clientcredentials.Config{ClientID: "svc", ClientSecret: secret, TokenURL: s.URL + "/oauth2/token"}).Token(ctx)
			}
			if _, err := svcToken(first); err != nil {
				t.Fatalf("the generated secret does not work: %v", err)
			}
			status, pub := s.adminJSON(t, "POST", "/admin/v1/clients", admin,
				`{"client_id":"web","public":true,"grant_types":["authorization_code","refresh_token"],"scope":"openid",
				  "redirect_uris":["https://app.example/cb"],"allowed_origins":["https://app.example"],"trusted":true}`)
			if status != 201 || pub["public"] != true || pub["trusted"] != true {
				t.Fatalf("create public: %d %v", status, pub)
			}
			checkClientShape(t, pub, false)
			status, shown := s.adminJSON(t, "GET", "/admin/v1/clients/svc", admin, "")
			if status != 200 || shown["client_id"] != "svc" {
				t.Fatalf("show: %d %v", status, shown)
			}
			checkClientShape(t, shown, false)

			before := s.storedClients(t)
			svcBefore, _ := s.store.Client(ctx, "svc")
			for _, tt := range []struct {
				name, method, path, body string
				status                   int
				code                     string
			}{
				{"duplicate", "POST", "/admin/v1/clients", `{"client_id":"spa","public":true,"grant_types":["password"]}`, 409, "conflict"},
				{"unknown field", "POST", "/admin/v1/clients", `{"client_id":"x","public":true,"grant_types":["password"],"secret":"x"}`, 400, "invalid_request"},
				{"secret given", "POST", "/admin/v1/clients", `{"client_id":"x","grant_types":["password"],"client_secret":"0123456789abcdef0"}`, 400, "invalid_request"},
				{"wrong type", "POST", "/admin/v1/clients", `{"client_id":"x","public":true,"grant_types":"password"}`, 400, "invalid_request"},
				{"scope as list", "POST", "/admin/v1/clients", `{"client_id":"x","public":true,"grant_types":["password"],"scope":["a"]}`, 400, "invalid_request"},
				{"malformed", "POST", "/admin/v1/clients", `{"client_id":"x",`, 400, "invalid_request"},
				{"trailing data", "POST", "/admin/v1/clients", `{"client_id":"x","public":true,"grant_types":["password"]} {}`, 400, "invalid_request"},
				{"not an object", "POST", "/admin/v1/clients", `["x"]`, 400, "invalid_request"},
				{"unknown grant", "POST", "/admin/v1/clients", `{"client_id":"x","public":true,"grant_types":["implicit"]}`, 400, "invalid_request"},
				{"no grant", "POST", "/admin/v1/clients", `{"client_id":"x","public":true}`, 400, "invalid_request"},
				{"no id", "POST", "/admin/v1/clients", `{"public":true,"grant_types":["password"]}`, 400, "invalid_request"},
				{"fragment", "POST", "/admin/v1/clients", `{"client_id":"x","public":true,"grant_types":["authorization_code"],"redirect_uris":["https://a.example/cb#f"]}`, 400, "invalid_request"},
				{"relative redirect", "POST", "/admin/v1/clients", `{"client_id":"x","public":true,"grant_types":["authorization_code"],"redirect_uris":["/cb"]}`, 400, "invalid_request"},
				{"public client_credentials", "POST", "/admin/v1/clients", `{"client_id":"x","public":true,"grant_types":["client_credentials"]}`, 400, "invalid_request"},
				{"show unknown", "GET", "/admin/v1/clients/nobody", "", 404, "not_found"},
				{"bad limit", "GET", "/admin/v1/clients?limit=0", "", 400, "invalid_request"},
				{"empty limit", "GET", "/admin/v1/clients?limit=", "", 400, "invalid_request"},
				{"patch unknown", "PATCH", "/admin/v1/clients/nobody", `{"scope":"a"}`, 404, "not_found"},
				{"patch bad grant", "PATCH", "/admin/v1/clients/svc", `{"grant_types":["implicit"]}`, 400, "invalid_request"},
				{"patch empty grants", "PATCH", "/admin/v1/clients/svc", `{"grant_types":[]}`, 400, "invalid_request"},
				{"patch redirect without code", "PATCH", "/admin/v1/clients/svc", `{"redirect_uris":["https://a.example/cb"]}`, 400, "invalid_request"},
				{"patch bad origin", "PATCH", "/admin/v1/clients/svc", `{"allowed_origins":["https://a.example/path"]}`, 400, "invalid_request"},
				{"patch bad scope", "PATCH", "/admin/v1/clients/svc", `{"scope":"a\"b"}`, 400, "invalid_request"},
				{"patch public", "PATCH", "/admin/v1/clients/svc", `{"public":true}`, 400, "invalid_request"},
				{"patch id", "PATCH", "/admin/v1/clients/svc", `{"client_id":"other"}`, 400, "invalid_request"},
				{"patch wrong type", "PATCH", "/admin/v1/clients/svc", `{"trusted":"yes"}`, 400, "invalid_request"},
				{"rotate public", "POST", "/admin/v1/clients/web/secret", "", 400, "invalid_request"},
				{"rotate with body", "POST", "/admin/v1/clients/svc/secret", `{"client_secret":"mine-mine-mine-mine"}`, 400, "invalid_request"},
				{"rotate unknown", "POST", "/admin/v1/clients/nobody/secret", "", 404, "not_found"},
				{"delete unknown", "DELETE", "/admin/v1/clients/nobody", "", 404, "not_found"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					status, body := s.adminJSON(t, tt.method, tt.path, admin, tt.body)
					if status != tt.status || body["error"] != tt.code || body["error_description"] == "" {
						t.Fatalf("%d %v, want %d %s", status, body, tt.status, tt.code)
					}
				})
			}
			t.Run("form body", func(t *testing.T) {
				status, body := s.post(t, "/admin/v1/clients", "Bearer "+admin, url.Values{"client_id": {"x"}})
				if status != 400 || body["error"] != "invalid_request" {
					t.Fatalf("%d %v", status, body)
				}
			})
			t.Run("no admin token", func(t *testing.T) {
				if status, _ := s.adminJSON(t, "POST", "/admin/v1/clients", "", `{"client_id":"x","public":true,"grant_types":["password"]}`); status != 401 {
					t.Fatalf("without a token: %d", status)
				}
				if status, _ := s.adminJSON(t, "DELETE", "/admin/v1/clients/svc", s.token(t, "worker"), ""); status != 403 {
					t.Fatalf("without the admin scope: %d", status)
				}
			})
			if after := s.storedClients(t); !slices.Equal(after, before) {
				t.Fatalf("refused requests changed the clients: %q → %q", before, after)
			}
			if c, _ := s.store.Client(ctx, "svc"); c.SecretHash != svcBefore.SecretHash || !slices.Equal(c.Grants, svcBefore.Grants) ||
				!slices.Equal(c.Scopes, svcBefore.Scopes) || len(c.RedirectURIs)+len(c.AllowedOrigins) != 0 {
				t.Fatalf("refused requests changed svc: %+v", c)
			}

			// Update replaces the lists given, and only those.
			status, patched := s.adminJSON(t, "PATCH", "/admin/v1/clients/web", admin,
				`{"redirect_uris":["https://app.example/cb2","http://127.0.0.1/cb"],"scope":"openid read","trusted":false}`)
			if status != 200 || patched["scope"] != "openid read" || patched["trusted"] != false ||
				len(patched["redirect_uris"].([]any)) != 2 || len(patched["allowed_origins"].([]any)) != 1 {
				t.Fatalf("patch: %d %v", status, patched)
			}
			checkClientShape(t, patched, false)

			// Rotation: the old secret stops working at once, on this instance, right after it was cached.
			if _, err := svcToken(first); err != nil {
				t.Fatal(err)
			}
			status, rotated := s.adminJSON(t, "POST", "/admin/v1/clients/svc/secret", admin, "")
			if status != 200 {
				t.Fatalf("rotate: %d %v", status, rotated)
			}
			checkClientShape(t, rotated, true)
			second := rotated["client_secret"].(string)
			if _, err := svcToken(first); err == nil {
				t.Fatal("the old secret still works after rotation")
			}
			svcTok, err := svcToken(second)
			if err != nil {
				t.Fatalf("the new secret: %v", err)
			}

			// Delete: sessions end, client_credentials tokens turn inactive.
			if _, err := s.svc.Admin.AddUser(ctx, "root", password, oauth.RoleAdmin); err != nil {
				t.Fatal(err)
			}
			if _, err := s.svc.Admin.UpdateClient(ctx, "svc", oauth.ClientChange{Grants: &[]string{"client_credentials", "password", "refresh_token"}}); err != nil {
				t.Fatal(err)
			}
			conf := &oauth2.Config{ClientID: "svc", ClientSecret: second, Scopes: []string{"jobs"},
				Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
			userTok, err := conf.PasswordCredentialsToken(ctx, "root", password)
			if err != nil {
				t.Fatal(err)
			}
			introspect := func(tok string) any {
				t.Helper()
				status, body := s.post(t, "/oauth2/introspect", basic("backend", secret), url.Values{"token": {tok}})
				if status != 200 {
					t.Fatalf("introspect: %d %v", status, body)
				}
				return body["active"]
			}
			if introspect(svcTok.AccessToken) != true || introspect(userTok.AccessToken) != true {
				t.Fatal("tokens inactive before the deletion")
			}
			status, deleted := s.adminJSON(t, "DELETE", "/admin/v1/clients/svc", admin, "")
			if status != 200 || deleted["sessions_ended"] != float64(1) {
				t.Fatalf("delete: %d %v", status, deleted)
			}
			if introspect(svcTok.AccessToken) != false || introspect(userTok.AccessToken) != false {
				t.Fatal("a token of the deleted client is still active")
			}
			root, _ := s.store.UserByUsername(ctx, "root")
			if sessions, _ := s.store.SessionsByUser(ctx, root.ID, "", 10); len(sessions) != 0 {
				t.Fatalf("sessions of the deleted client remain: %+v", sessions)
			}
			if _, err := s.store.Client(ctx, "svc"); err != models.ErrNotFound {
				t.Fatalf("deleted client: %v", err)
			}
			if status, _ := s.adminJSON(t, "GET", "/admin/v1/clients/svc", admin, ""); status != 404 {
				t.Fatalf("show deleted: %d", status)
			}
		})
	}
}
