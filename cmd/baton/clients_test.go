package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore"
	"github.com/batonhq/baton/oauth"
)

// TestClientAdminCommands: client list, show, update, rotate-secret and
// delete (SPEC §7) on SQLite and Postgres; bad input gives one line on
// stderr, a non-zero exit and changes nothing.
func TestClientAdminCommands(t *testing.T) {
	for name, dbURL := range backendsURL(t) {
		t.Run(name, func(t *testing.T) {
			e := environ{"BATON_DATABASE_URL": dbURL(t), "BATON_KEK": randomKEK(t), "BATON_LOG_LEVEL": "warn"}
			ok := func(stdin string, args ...string) string {
				t.Helper()
				code, out, errOut := runCmd(t, e, stdin, args...)
				if code != 0 {
					t.Fatalf("baton %s: %d %s", strings.Join(args, " "), code, errOut)
				}
				return out
			}
			const first, second = "first-secret-first-secret", "second-secret-second-secret"
			ok(first+"\n", "client", "add", "--id", "svc", "--secret-stdin", "--grants", "client_credentials", "--scopes", "jobs")
			ok("", "client", "add", "--id", "web", "--public", "--grants", "authorization_code,refresh_token",
				"--redirect-uri", "https://app.example/cb", "--origin", "https://app.example")
			s, err := gormstore.Open(t.Context(), e["BATON_DATABASE_URL"], quietLog())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			stored := func(id string) models.Client {
				t.Helper()
				c, err := s.Client(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			hashBefore := stored("svc").SecretHash

			// list and show: never a secret or its hash.
			out := ok("", "client", "list")
			if !strings.Contains(out, "svc") || !strings.Contains(out, "web") || !strings.Contains(out, "confidential") {
				t.Fatalf("client list: %q", out)
			}
			var list []map[string]any
			jsonOut := ok("", "client", "list", "--format", "json")
			if err := json.Unmarshal([]byte(jsonOut), &list); err != nil || len(list) != 2 || list[0]["client_id"] != "svc" {
				t.Fatalf("client list --format json: %q %v", jsonOut, err)
			}
			var one map[string]any
			showOut := ok("", "client", "show", "--id", "web", "--format", "json")
			if err := json.Unmarshal([]byte(showOut), &one); err != nil || one["public"] != true || len(one) != 8 {
				t.Fatalf("client show --format json: %q %v", showOut, err)
			}
			text := ok("", "client", "show", "--id", "svc")
			for _, o := range []string{out, jsonOut, showOut, text} {
				if strings.Contains(o, first) || strings.Contains(o, "argon2") || strings.Contains(o, "secret") {
					t.Fatalf("a secret or its hash printed: %q", o)
				}
			}

			// update replaces the given lists only.
			ok("", "client", "update", "--id", "web", "--scopes", "openid read", "--redirect-uri", "https://app.example/cb2", "--redirect-uri", "http://127.0.0.1/cb")
			if c := stored("web"); !slices.Equal(c.Scopes, []string{"openid", "read"}) ||
				!slices.Equal(c.RedirectURIs, []string{"https://app.example/cb2", "http://127.0.0.1/cb"}) ||
				!slices.Equal(c.AllowedOrigins, []string{"https://app.example"}) || !slices.Equal(c.Grants, []string{"authorization_code", "refresh_token"}) {
				t.Fatalf("after update: %+v", c)
			}
			ok("", "client", "update", "--id", "web", "--grants", "password,refresh_token", "--redirect-uri", "", "--origin", "")
			if c := stored("web"); len(c.RedirectURIs)+len(c.AllowedOrigins) != 0 || !slices.Equal(c.Grants, []string{"password", "refresh_token"}) {
				t.Fatalf("after clearing: %+v", c)
			}
			webBefore := stored("web")

			for _, tt := range []struct {
				name, stdin string
				args        []string
				want        string
			}{
				{"show unknown", "", []string{"client", "show", "--id", "nobody"}, `client "nobody"`},
				{"bad format", "", []string{"client", "list", "--format", "xml"}, "--format"},
				{"update nothing", "", []string{"client", "update", "--id", "web"}, "nothing to change"},
				{"update unknown", "", []string{"client", "update", "--id", "nobody", "--scopes", "a"}, `client "nobody"`},
				{"update bad grant", "", []string{"client", "update", "--id", "web", "--grants", "implicit"}, "unknown grant"},
				{"update code without redirect", "", []string{"client", "update", "--id", "web", "--grants", "authorization_code"}, "--redirect-uri"},
				{"update fragment", "", []string{"client", "update", "--id", "web", "--grants", "authorization_code", "--redirect-uri", "https://a.example/cb#x"}, "fragment"},
				{"update relative", "", []string{"client", "update", "--id", "web", "--grants", "authorization_code", "--redirect-uri", "/cb"}, "absolute"},
				{"update bad origin", "", []string{"client", "update", "--id", "web", "--origin", "https://a.example/x"}, "origin"},
				{"update bad scope", "", []string{"client", "update", "--id", "web", "--scopes", `a"b`}, "invalid scope"},
				{"update public client_credentials", "", []string{"client", "update", "--id", "web", "--grants", "client_credentials"}, "public client"},
				{"rotate without stdin flag", second + "\n", []string{"client", "rotate-secret", "--id", "svc"}, "--secret-stdin"},
				{"rotate empty", "", []string{"client", "rotate-secret", "--id", "svc", "--secret-stdin"}, "no client secret"},
				{"rotate short", "short\n", []string{"client", "rotate-secret", "--id", "svc", "--secret-stdin"}, "client secret must be"},
				{"rotate public", second + "\n", []string{"client", "rotate-secret", "--id", "web", "--secret-stdin"}, "public"},
				{"rotate unknown", second + "\n", []string{"client", "rotate-secret", "--id", "nobody", "--secret-stdin"}, `client "nobody"`},
				{"delete unknown", "", []string{"client", "delete", "--id", "nobody"}, `client "nobody"`},
				{"delete without id", "", []string{"client", "delete"}, "--id"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					code, out, errOut := runCmd(t, e, tt.stdin, tt.args...)
					if code == 0 {
						t.Fatalf("exit 0, want failure (stdout %q)", out)
					}
					if strings.Count(strings.TrimRight(errOut, "\n"), "\n") != 0 || !strings.Contains(errOut, tt.want) {
						t.Fatalf("stderr %q, want one line containing %q", errOut, tt.want)
					}
				})
			}
			if c := stored("web"); !slicesEqualClient(c, webBefore) {
				t.Fatalf("refused commands changed web: %+v, was %+v", c, webBefore)
			}
			if stored("svc").SecretHash != hashBefore {
				t.Fatal("a refused rotation changed the secret")
			}

			// rotate-secret: the new secret verifies, the old one no more.
			ok(second+"\n", "client", "rotate-secret", "--id", "svc", "--secret-stdin")
			h, err := oauth.NewHasher(oauth.Argon2Params{}, oauth.HashLimits{})
			if err != nil {
				t.Fatal(err)
			}
			hash := stored("svc").SecretHash
			if good, _ := h.Verify(t.Context(), hash, second); !good {
				t.Fatal("the new secret does not verify")
			}
			if good, _ := h.Verify(t.Context(), hash, first); good {
				t.Fatal("the old secret still verifies")
			}

			// delete: the client goes with its sessions.
			ctx := t.Context()
			if err := s.CreateUser(ctx, models.User{ID: "u1", Username: "alice", PasswordHash: "x", CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			sess := models.Session{ID: "s1", UserID: "u1", ClientID: "web", Scope: "read", CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour),
				RefreshGen: 1, RefreshCheck: make([]byte, 32)}
			if _, err := s.CreateSession(ctx, sess, 0); err != nil {
				t.Fatal(err)
			}
			if out := ok("", "client", "delete", "--id", "web"); !strings.Contains(out, "1 sessions ended") {
				t.Fatalf("client delete: %q", out)
			}
			if _, err := s.Client(ctx, "web"); err != models.ErrNotFound {
				t.Fatalf("deleted client: %v", err)
			}
			if _, err := s.Session(ctx, "s1"); err != models.ErrNotFound {
				t.Fatalf("session of the deleted client: %v", err)
			}
			if out := ok("", "client", "list"); strings.Contains(out, "web") {
				t.Fatalf("deleted client listed: %q", out)
			}
		})
	}
}

func slicesEqualClient(a, b models.Client) bool {
	return a.SecretHash == b.SecretHash && a.Trusted == b.Trusted && slices.Equal(a.Grants, b.Grants) &&
		slices.Equal(a.Scopes, b.Scopes) && slices.Equal(a.RedirectURIs, b.RedirectURIs) && slices.Equal(a.AllowedOrigins, b.AllowedOrigins)
}
