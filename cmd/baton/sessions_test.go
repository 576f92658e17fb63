package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// deployment is a running baton with a user, a public app client, a
// confidential resource server client and an admin client.
type deployment struct {
	env  environ
	base string
}

func deploy(t *testing.T, dbURL string) *deployment {
	t.Helper()
	e := environ{"BATON_DATABASE_URL": dbURL, "BATON_KEK": randomKEK(t), "BATON_LOG_LEVEL": "warn"}
	d := &deployment{env: e}
	d.cli(t, "", "client", "add", "--id", "app", "--public", "--grants", "password,refresh_token", "--scopes", "read")
	d.cli(t, secretLine, "client", "add", "--id", "api", "--secret-stdin", "--grants", "client_credentials")
	d.cli(t, secretLine, "client", "add", "--id", "ops", "--secret-stdin", "--grants", "client_credentials", "--scopes", "admin")
	d.base = startServe(t, e)
	return d
}

func (d *deployment) cli(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := runCmd(t, d.env, stdin, args...)
	if code != 0 {
		t.Fatalf("baton %s: %s", strings.Join(args, " "), errOut)
	}
	return out
}

func (d *deployment) login(t *testing.T, user string) map[string]any {
	t.Helper()
	status, tok := postForm(t, d.base+"/oauth2/token", url.Values{"grant_type": {"password"},
		"username": {user}, "password": {"hunter2hunter2"}, "client_id": {"app"}})
	if status != 200 {
		t.Fatalf("login %s: %d %v", user, status, tok)
	}
	return tok
}

// introspect asks as the resource server whether a token is active.
func (d *deployment) introspect(t *testing.T, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", d.base+"/oauth2/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("api", strings.TrimSpace(secretLine))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
		t.Fatalf("introspect: %d %v", resp.StatusCode, err)
	}
	return m
}

func (d *deployment) admin(t *testing.T, method, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, d.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+clientToken(t, d.base, "ops"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func backendsURL(t *testing.T) map[string]func(*testing.T) string {
	return map[string]func(*testing.T) string{
		"SQLite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "baton.db") },
		"Postgres": func(t *testing.T) string { return gormtest.FreshSchema(t, gormtest.PostgresURL(t)) },
	}
}

// TestIntrospectionFlipsOnEveryRevocation: an access token introspects as
// active until its session is revoked, and inactive right after, by each of
// RFC 7009 revocation, the admin API, the CLI, reuse detection and
// disabling the user. The admin list then shows each end reason.
func TestIntrospectionFlipsOnEveryRevocation(t *testing.T) {
	for name, dbURL := range backendsURL(t) {
		t.Run(name, func(t *testing.T) {
			d := deploy(t, dbURL(t))
			revocations := []struct {
				user, reason string
				revoke       func(t *testing.T, tok map[string]any, sid string)
			}{
				{"u-revoke", "logout", func(t *testing.T, tok map[string]any, _ string) {
					status, body := postForm(t, d.base+"/oauth2/revoke", url.Values{"token": {tok["refresh_token"].(string)}, "client_id": {"app"}})
					if status != 200 {
						t.Fatalf("revoke: %d %v", status, body)
					}
				}},
				{"u-admin", "admin", func(t *testing.T, _ map[string]any, sid string) {
					if status, body := d.admin(t, "DELETE", "/admin/v1/sessions/"+sid); status != 200 || body["revoked"] != true {
						t.Fatalf("admin revoke: %d %v", status, body)
					}
				}},
				{"u-cli", "admin", func(t *testing.T, _ map[string]any, sid string) {
					d.cli(t, "", "sessions", "revoke", "--id="+sid)
				}},
				{"u-reuse", "reuse_detected", func(t *testing.T, tok map[string]any, _ string) {
					rt := tok["refresh_token"].(string)
					refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {"app"}}
					refresh.Set("refresh_token", rt)
					_, next := postForm(t, d.base+"/oauth2/token", refresh)
					refresh.Set("refresh_token", next["refresh_token"].(string))
					postForm(t, d.base+"/oauth2/token", refresh) // the successor is used: the grace is over
					refresh.Set("refresh_token", rt)
					if status, body := postForm(t, d.base+"/oauth2/token", refresh); status != 400 || body["error"] != "invalid_grant" {
						t.Fatalf("replay: %d %v", status, body)
					}
				}},
				{"u-disable", "user_disabled", func(t *testing.T, _ map[string]any, _ string) {
					d.cli(t, "", "user", "disable", "--username", "u-disable")
				}},
			}
			for _, r := range revocations {
				t.Run(r.user, func(t *testing.T) {
					d.cli(t, "hunter2hunter2\n", "user", "add", "--username", r.user, "--password-stdin")
					tok := d.login(t, r.user)
					at := tok["access_token"].(string)
					in := d.introspect(t, at)
					if in["active"] != true || in["username"] != r.user || in["client_id"] != "app" || in["sid"] == nil {
						t.Fatalf("before: %v", in)
					}
					r.revoke(t, tok, in["sid"].(string))
					if in := d.introspect(t, at); in["active"] != false || len(in) != 1 {
						t.Fatalf("after: %v, want only active:false", in)
					}
					status, list := d.admin(t, "GET", "/admin/v1/sessions?username="+r.user)
					sessions, _ := list["sessions"].([]any)
					if status != 200 || len(sessions) != 1 {
						t.Fatalf("list: %d %v", status, list)
					}
					s := sessions[0].(map[string]any)
					if s["end_reason"] != r.reason || s["revoked_at"] == nil || s["id"] != in["sid"] && in["sid"] != nil {
						t.Fatalf("session %v, want end reason %q", s, r.reason)
					}
				})
			}
			// A disabled user can no longer log in.
			status, body := postForm(t, d.base+"/oauth2/token", url.Values{"grant_type": {"password"},
				"username": {"u-disable"}, "password": {"hunter2hunter2"}, "client_id": {"app"}})
			if status != 400 || body["error"] != "invalid_grant" {
				t.Fatalf("disabled login: %d %v", status, body)
			}
			out := d.cli(t, "", "sessions", "list", "--username", "u-cli")
			if !strings.Contains(out, " admin") || strings.Count(out, "\n") != 2 {
				t.Fatalf("sessions list:\n%s", out)
			}
		})
	}
}
