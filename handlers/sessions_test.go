package handlers_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
)

func (s *server) post(t *testing.T, path, authz string, v url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, body := do(t, req)
	var m map[string]any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("%s: body %q", path, body)
		}
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%s: Cache-Control %q", path, resp.Header.Get("Cache-Control"))
	}
	return resp.StatusCode, m
}

func (s *server) login(t *testing.T, client, secret string) *oauth2.Token {
	t.Helper()
	style := oauth2.AuthStyleInParams
	if secret != "" {
		style = oauth2.AuthStyleInHeader
	}
	tok, err := s.oauth2Config(client, secret, style).PasswordCredentialsToken(t.Context(), "alice", password)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRevokeEndpoint(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b.Open(t))
			spa := url.Values{"client_id": {"spa"}}
			with := func(v url.Values, kv ...string) url.Values {
				out := url.Values{}
				for k, vs := range v {
					out[k] = vs
				}
				for i := 0; i < len(kv); i += 2 {
					out.Set(kv[i], kv[i+1])
				}
				return out
			}
			byRefresh, byAccess, other := s.login(t, "spa", ""), s.login(t, "spa", ""), s.login(t, "backend", secret)
			tests := []struct {
				name, authz string
				form        url.Values
				status      int
				code        string
			}{
				{"refresh token", "", with(spa, "token", byRefresh.RefreshToken), 200, ""},
				{"again: already revoked", "", with(spa, "token", byRefresh.RefreshToken), 200, ""},
				{"access token", "", with(spa, "token", byAccess.AccessToken, "token_type_hint", "access_token"), 200, ""},
				{"unknown token", "", with(spa, "token", "nope"), 200, ""},
				{"wrong hint", "", with(spa, "token", "nope", "token_type_hint", "id_token"), 200, ""},
				{"no token", "", spa, 400, "invalid_request"},
				{"another client's token", "", with(spa, "token", other.RefreshToken), 400, "unauthorized_client"},
				{"no client", "", url.Values{"token": {other.RefreshToken}}, 401, "invalid_client"},
				{"wrong secret", basic("backend", "wrong"), url.Values{"token": {other.RefreshToken}}, 401, "invalid_client"},
			}
			for _, tt := range tests {
				status, body := s.post(t, "/oauth2/revoke", tt.authz, tt.form)
				if status != tt.status || tt.code != "" && body["error"] != tt.code {
					t.Fatalf("%s: %d %v, want %d %s", tt.name, status, body, tt.status, tt.code)
				}
			}
			for _, tok := range []*oauth2.Token{byRefresh, byAccess} {
				_, err := s.oauth2Config("spa", "", oauth2.AuthStyleInParams).TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
				if err == nil {
					t.Fatal("a revoked session refreshed")
				}
			}
			if _, err := s.oauth2Config("backend", secret, oauth2.AuthStyleInHeader).TokenSource(t.Context(), &oauth2.Token{RefreshToken: other.RefreshToken}).Token(); err != nil {
				t.Fatalf("a refused revocation must change nothing: %v", err)
			}
		})
	}
}

func TestIntrospectEndpoint(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b.Open(t))
			user := s.login(t, "backend", secret)
			svcTok := s.token(t, "worker")
			rotated, err := s.oauth2Config("backend", secret, oauth2.AuthStyleInHeader).TokenSource(t.Context(), &oauth2.Token{RefreshToken: user.RefreshToken}).Token()
			if err != nil {
				t.Fatal(err)
			}
			asWorker, asBackend := basic("worker", secret), basic("backend", secret)
			tests := []struct {
				name, authz, token, hint string
				status                   int
				active                   bool
				check                    map[string]any
			}{
				{"user access token", asWorker, user.AccessToken, "", 200, true,
					map[string]any{"username": "alice", "client_id": "backend", "token_type": "Bearer", "iss": s.URL, "aud": s.URL, "scope": "read"}},
				{"service access token", asWorker, svcTok, "", 200, true, map[string]any{"client_id": "worker", "sub": "worker"}},
				{"current refresh token, own client", asBackend, rotated.RefreshToken, "refresh_token", 200, true,
					map[string]any{"token_type": "refresh_token", "username": "alice", "client_id": "backend"}},
				{"refresh token, other client", asWorker, rotated.RefreshToken, "", 200, false, nil},
				{"spent refresh token", asBackend, user.RefreshToken, "", 200, false, nil},
				{"garbage", asWorker, "garbage", "", 200, false, nil},
				{"forged access token", asWorker, forge(user.AccessToken), "access_token", 200, false, nil},
				{"public client", "", user.AccessToken, "", 401, false, nil},
				{"no client", "-", user.AccessToken, "", 401, false, nil},
				{"no token", asWorker, "", "", 400, false, nil},
			}
			for _, tt := range tests {
				form := url.Values{}
				if tt.token != "" {
					form.Set("token", tt.token)
				}
				if tt.hint != "" {
					form.Set("token_type_hint", tt.hint)
				}
				authz := tt.authz
				switch authz {
				case "":
					form.Set("client_id", "spa")
				case "-":
					authz = ""
				}
				status, body := s.post(t, "/oauth2/introspect", authz, form)
				if status != tt.status {
					t.Fatalf("%s: %d %v, want %d", tt.name, status, body, tt.status)
				}
				if status != 200 {
					continue
				}
				if body["active"] != tt.active || !tt.active && len(body) != 1 {
					t.Fatalf("%s: %v, want active=%v", tt.name, body, tt.active)
				}
				for k, v := range tt.check {
					if body[k] != v {
						t.Fatalf("%s: %s = %v, want %v (%v)", tt.name, k, body[k], v, body)
					}
				}
			}
		})
	}
}

func TestAdminSessionsAPI(t *testing.T) {
	s := sqliteServer(t)
	var sids []string
	for range 5 {
		tok := s.login(t, "spa", "")
		_, in := s.post(t, "/oauth2/introspect", basic("worker", secret), url.Values{"token": {tok.AccessToken}})
		sids = append(sids, in["sid"].(string))
	}
	admin, worker := "Bearer "+s.token(t, "ops"), "Bearer "+s.token(t, "worker")
	call := func(method, path, authz string) (int, map[string]any) {
		req, _ := http.NewRequest(method, s.URL+path, nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, body := do(t, req)
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("%s %s: body %q", method, path, body)
		}
		return resp.StatusCode, m
	}
	for _, tt := range []struct {
		method, path, authz string
		status              int
		code                string
	}{
		{"GET", "/admin/v1/sessions?username=alice", "", 401, "unauthorized"},
		{"GET", "/admin/v1/sessions?username=alice", worker, 403, "insufficient_scope"},
		{"DELETE", "/admin/v1/sessions/" + sids[0], "", 401, "unauthorized"},
		{"DELETE", "/admin/v1/sessions/" + sids[0], worker, 403, "insufficient_scope"},
		{"DELETE", "/admin/v1/sessions?username=alice", worker, 403, "insufficient_scope"},
		{"GET", "/admin/v1/sessions", admin, 400, "invalid_request"},
		{"GET", "/admin/v1/sessions?username=alice&limit=0", admin, 400, "invalid_request"},
		{"GET", "/admin/v1/sessions?username=alice&limit=", admin, 400, "invalid_request"},
		{"GET", "/admin/v1/sessions?username=bob", admin, 404, "not_found"},
		{"DELETE", "/admin/v1/sessions/nope", admin, 404, "not_found"},
		{"DELETE", "/admin/v1/sessions?username=bob", admin, 404, "not_found"},
	} {
		if status, body := call(tt.method, tt.path, tt.authz); status != tt.status || body["error"] != tt.code {
			t.Fatalf("%s %s: %d %v, want %d %s", tt.method, tt.path, status, body, tt.status, tt.code)
		}
	}
	// Pages of two, newest first.
	var seen []string
	next := ""
	for {
		status, body := call("GET", "/admin/v1/sessions?username=alice&limit=2&after="+next, admin)
		if status != 200 {
			t.Fatalf("list: %d %v", status, body)
		}
		for _, s := range body["sessions"].([]any) {
			m := s.(map[string]any)
			for _, k := range []string{"id", "username", "client_id", "scope", "created_at", "last_used_at", "expires_at"} {
				if m[k] == nil || m[k] == "" {
					t.Fatalf("session lacks %s: %v", k, m)
				}
			}
			// SPEC §2: every field in every item, null where there is no value.
			for _, k := range []string{"revoked_at", "end_reason"} {
				if v, ok := m[k]; !ok || v != nil {
					t.Fatalf("live session: %s present %v, value %v; want present and null", k, ok, v)
				}
			}
			seen = append(seen, m["id"].(string))
		}
		if next = body["next"].(string); next == "" {
			break
		}
	}
	if len(seen) != 5 || seen[0] != sids[4] || seen[4] != sids[0] {
		t.Fatalf("listed %v, want %v newest first", seen, sids)
	}
	if status, body := call("DELETE", "/admin/v1/sessions/"+sids[0], admin); status != 200 || body["revoked"] != true {
		t.Fatalf("revoke one: %d %v", status, body)
	}
	if status, body := call("DELETE", "/admin/v1/sessions/"+sids[0], admin); status != 200 || body["revoked"] != false {
		t.Fatalf("revoke one again: %d %v", status, body)
	}
	if status, body := call("DELETE", "/admin/v1/sessions?username=alice", admin); status != 200 || body["revoked"] != float64(4) {
		t.Fatalf("revoke all: %d %v", status, body)
	}
	_, body := call("GET", "/admin/v1/sessions?username=alice", admin)
	for _, s := range body["sessions"].([]any) {
		if m := s.(map[string]any); m["end_reason"] != "admin" || m["revoked_at"] == nil {
			t.Fatalf("session %v, want ended by admin", m)
		}
	}
}

// TestOneLoginPerUser: with a limit of 2 sessions per user, 50 concurrent
// logins leave exactly 2 live sessions; the others end as "replaced".
// (Beyond the username's free attempts in flight, logins are answered 429
// and try again.)
func TestOneLoginPerUser(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServerWith(t, b.Open(t), func(o *oauth.Options) { o.MaxSessionsPerUser = 2 })
			conf := s.oauth2Config("spa", "", oauth2.AuthStyleInParams)
			// Attempts in flight count against the username's throttle, so
			// a login refused with 429 tries again once another has been
			// answered (a success clears the count).
			var mu sync.Mutex
			answered := 0
			cond := sync.NewCond(&mu)
			login := func() error {
				for {
					mu.Lock()
					seen := answered
					mu.Unlock()
					_, err := conf.PasswordCredentialsToken(t.Context(), "alice", password)
					var rerr *oauth2.RetrieveError
					if errors.As(err, &rerr) && rerr.Response.StatusCode == http.StatusTooManyRequests {
						mu.Lock()
						for answered == seen {
							cond.Wait()
						}
						mu.Unlock()
						continue
					}
					mu.Lock()
					answered++
					cond.Broadcast()
					mu.Unlock()
					return err
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, 50)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = login()
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			page, _, err := s.svc.Admin.ListSessions(t.Context(), "alice", "", 100)
			if err != nil {
				t.Fatal(err)
			}
			live := 0
			for _, sess := range page {
				switch {
				case sess.EndReason == nil:
					live++
				case *sess.EndReason != "replaced":
					t.Fatalf("session ended as %q", *sess.EndReason)
				}
			}
			if live != 2 || len(page) != 50 {
				t.Fatalf("%d live of %d sessions, want 2 of 50", live, len(page))
			}
		})
	}
}
