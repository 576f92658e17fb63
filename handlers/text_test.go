package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/batonhq/baton/handlers"
	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// badText are values that must never reach a database text column.
var badText = []struct{ name, value string }{
	{"invalid UTF-8", "qz\xffjx"},
	{"truncated UTF-8", "qzjx\xc3"},
	{"NUL", "qz\x00jx"},
	{"control character", "qz\x01jx"},
}

// TestInvalidTextIsRefusedAtTheEdge: a username or client_id (in the form
// or in Basic) that is not valid UTF-8 or holds a NUL or control character
// is a 400 invalid_request naming the parameter, at every endpoint and in
// the admin API, on SQLite and Postgres — never a 500.
func TestInvalidTextIsRefusedAtTheEdge(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b.Open(t))
			admin := "Bearer " + s.token(t, "ops")
			for _, bad := range badText {
				type call struct {
					name, method, path, authz, body, param string
				}
				pw := func(user string) string {
					return form("grant_type", "password", "username", user, "password", password)
				}
				calls := []call{
					{"token username", "POST", "/oauth2/token", "", pw(bad.value) + "&client_id=spa", "username"},
					{"token username basic", "POST", "/oauth2/token", basic("backend", secret), pw(bad.value), "username"},
					{"token client_id form", "POST", "/oauth2/token", "", pw("alice") + "&" + form("client_id", bad.value), "client_id"},
					{"token client_id post", "POST", "/oauth2/token", "", form("grant_type", "client_credentials", "client_id", bad.value, "client_secret", secret), "client_id"},
					{"token client_id basic", "POST", "/oauth2/token", basic(bad.value, secret), pw("alice"), "client_id"},
				}
				for _, ep := range []string{"/oauth2/revoke", "/oauth2/introspect"} {
					calls = append(calls,
						call{ep + " client_id form", "POST", ep, "", form("token", "x", "client_id", bad.value), "client_id"},
						call{ep + " client_id basic", "POST", ep, basic(bad.value, secret), form("token", "x"), "client_id"},
						call{ep + " token_type_hint", "POST", ep, basic("worker", secret), form("token", "x", "token_type_hint", bad.value), "token_type_hint"},
					)
				}
				q := url.QueryEscape(bad.value)
				calls = append(calls,
					call{"admin list username", "GET", "/admin/v1/sessions?username=" + q, admin, "", "username"},
					call{"admin list after", "GET", "/admin/v1/sessions?username=alice&after=" + q, admin, "", "after"},
					call{"admin revoke all username", "DELETE", "/admin/v1/sessions?username=" + q, admin, "", "username"},
					call{"admin revoke one id", "DELETE", "/admin/v1/sessions/" + url.PathEscape(bad.value), admin, "", "id"},
				)
				for _, c := range calls {
					req, _ := http.NewRequest(c.method, s.URL+c.path, strings.NewReader(c.body))
					if c.body != "" {
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					}
					req.Header.Set("Authorization", c.authz)
					resp, body := do(t, req)
					var e struct {
						Error       string `json:"error"`
						Description string `json:"error_description"`
					}
					_ = json.Unmarshal(body, &e)
					if resp.StatusCode != 400 || e.Error != "invalid_request" || !strings.Contains(e.Description, c.param) {
						t.Errorf("%s, %s: %d %s, want 400 invalid_request naming %s", c.name, bad.name, resp.StatusCode, body, c.param)
					}
					if strings.Contains(e.Description, "qz") || strings.Contains(e.Description, "jx") {
						t.Errorf("%s, %s: the description echoes the value: %q", c.name, bad.name, e.Description)
					}
				}
			}
		})
	}
}

// fuzzSeeds reads the go-fuzz corpus of a target: each file's two strings.
func fuzzSeeds(t *testing.T, target string) [][2]string {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		if len(lines) != 3 || lines[0] != "go test fuzz v1" {
			t.Fatalf("%s/%s: not a two-string fuzz input", dir, e.Name())
		}
		var seed [2]string
		for i, l := range lines[1:] {
			inner, ok := strings.CutPrefix(l, "string(")
			if !ok || !strings.HasSuffix(inner, ")") {
				t.Fatalf("%s/%s: line %q is not a string", dir, e.Name(), l)
			}
			if seed[i], err = strconv.Unquote(strings.TrimSuffix(inner, ")")); err != nil {
				t.Fatalf("%s/%s: %v", dir, e.Name(), err)
			}
		}
		out = append(out, seed)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no seeds", dir)
	}
	return out
}

// TestFuzzSeedsEndToEndPostgres sends every seed of FuzzParseTokenRequest
// and FuzzClientAuth (corpus files and f.Add seeds) to the token, revoke and
// introspect endpoints of a server on Postgres: none is answered 5xx.
func TestFuzzSeedsEndToEndPostgres(t *testing.T) {
	s := newServer(t, gormtest.OpenPostgres(t))
	type seed struct{ body, authz string }
	var seeds []seed
	for _, sd := range append(fuzzSeeds(t, "FuzzParseTokenRequest"), handlers.TokenRequestSeeds...) {
		seeds = append(seeds, seed{body: sd[0], authz: sd[1]})
	}
	for _, sd := range append(fuzzSeeds(t, "FuzzClientAuth"), handlers.ClientAuthSeeds...) {
		seeds = append(seeds, seed{authz: sd[0], body: sd[1]})
	}
	sent := 0
	for _, sd := range seeds {
		for _, ep := range []string{"/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"} {
			req, _ := http.NewRequest("POST", s.URL+ep, strings.NewReader(sd.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if sd.authz != "" {
				req.Header["Authorization"] = []string{sd.authz}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				// A header no client can send (a control character) cannot
				// reach the server either.
				t.Logf("%s %q: %v", ep, sd.authz, err)
				continue
			}
			resp.Body.Close()
			sent++
			if resp.StatusCode >= 500 {
				t.Errorf("%s body %q authz %q: status %d", ep, sd.body, sd.authz, resp.StatusCode)
			}
		}
	}
	if sent < 3*len(seeds)/2 {
		t.Fatalf("only %d of %d requests were sent", sent, 3*len(seeds))
	}
}
