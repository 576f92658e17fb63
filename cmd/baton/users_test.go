package main

import (
	"encoding/json"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore"
)

// openStore opens the database of a test environment.
func openStore(t *testing.T, e environ) *gormstore.Store {
	t.Helper()
	s, err := gormstore.Open(t.Context(), e["BATON_DATABASE_URL"], quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// startSession stores a live session of the user, as a login would.
func startSession(t *testing.T, s *gormstore.Store, userID, id string) {
	t.Helper()
	now := time.Now()
	sess := models.Session{ID: id, UserID: userID, ClientID: "app", Scope: "read", CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour),
		RefreshGen: 1, RefreshCheck: []byte(id)}
	if _, err := s.CreateSession(t.Context(), sess, 0); err != nil {
		t.Fatal(err)
	}
}

// TestUserAdminCommands: user list, set-password, enable and delete (SPEC §7)
// on SQLite and Postgres, and their refusals, which write nothing.
func TestUserAdminCommands(t *testing.T) {
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
			ok("longenough\n", "user", "add", "--username", "root", "--password-stdin", "--role", "admin")
			ok("longenough\n", "user", "add", "--username", "alice", "--password-stdin")
			ok("", "client", "add", "--id", "app", "--public", "--grants", "password,refresh_token", "--scopes", "read")
			s := openStore(t, e)
			alice, err := s.UserByUsername(t.Context(), "alice")
			if err != nil {
				t.Fatal(err)
			}

			table := ok("", "user", "list")
			lines := strings.Split(strings.TrimSpace(table), "\n")
			if len(lines) != 3 || !regexp.MustCompile(`^USERNAME\s+ID\s+ROLES\s+DISABLED\s+CREATED$`).MatchString(lines[0]) ||
				!regexp.MustCompile(`^alice\s+`+alice.ID+`\s+-\s+false\s+\d{4}-`).MatchString(lines[1]) ||
				!regexp.MustCompile(`^root\s+\S+\s+admin\s+false\s+`).MatchString(lines[2]) {
				t.Fatalf("user list:\n%s", table)
			}
			var listed []map[string]any
			if err := json.Unmarshal([]byte(ok("", "user", "list", "--format", "json")), &listed); err != nil || len(listed) != 2 {
				t.Fatalf("user list --format json: %v %v", listed, err)
			}
			if u := listed[0]; u["username"] != "alice" || u["id"] != alice.ID || u["disabled"] != false || u["created_at"] == nil ||
				u["roles"] == nil || len(u["roles"].([]any)) != 0 || len(u) != 5 {
				t.Fatalf("json user %v", u)
			}

			// set-password: a new hash, and the sessions end.
			startSession(t, s, alice.ID, "s1")
			ok("another password\n", "user", "set-password", "--username", "alice", "--password-stdin")
			changed, _ := s.UserByUsername(t.Context(), "alice")
			if changed.PasswordHash == alice.PasswordHash || !strings.HasPrefix(changed.PasswordHash, "$argon2id$") {
				t.Fatalf("password hash not changed: %q", changed.PasswordHash)
			}
			if sess, _ := s.Session(t.Context(), "s1"); !sess.Ended() {
				t.Fatal("set-password left a session live")
			}

			// disable, then enable.
			ok("", "user", "disable", "--username", "alice")
			if out := ok("", "user", "enable", "--username", "alice"); !strings.Contains(out, "enabled") {
				t.Fatalf("enable: %q", out)
			}
			if u, _ := s.UserByUsername(t.Context(), "alice"); u.Disabled {
				t.Fatal("enable left the user disabled")
			}

			// Refusals: one line, non-zero, nothing written.
			startSession(t, s, alice.ID, "s2")
			for _, tt := range []struct {
				name, stdin string
				args        []string
				want        string
			}{
				{"set-password without --password-stdin", "longenough\n", []string{"user", "set-password", "--username", "alice"}, "--password-stdin"},
				{"set-password empty stdin", "", []string{"user", "set-password", "--username", "alice", "--password-stdin"}, "no password on stdin"},
				{"set-password short", "short\n", []string{"user", "set-password", "--username", "alice", "--password-stdin"}, "password must be"},
				{"set-password unknown user", "longenough\n", []string{"user", "set-password", "--username", "nobody", "--password-stdin"}, `user "nobody"`},
				{"set-password no username", "longenough\n", []string{"user", "set-password", "--password-stdin"}, "--username"},
				{"enable unknown user", "", []string{"user", "enable", "--username", "nobody"}, `user "nobody"`},
				{"delete unknown user", "", []string{"user", "delete", "--username", "nobody"}, `user "nobody"`},
				{"delete no username", "", []string{"user", "delete"}, "--username"},
				{"list bad format", "", []string{"user", "list", "--format", "xml"}, "--format"},
			} {
				code, out, errOut := runCmd(t, e, tt.stdin, tt.args...)
				if code == 0 {
					t.Fatalf("%s: exit 0, want failure (stdout %q)", tt.name, out)
				}
				if strings.Count(strings.TrimRight(errOut, "\n"), "\n") != 0 || !strings.Contains(errOut, tt.want) {
					t.Fatalf("%s: stderr %q, want one line containing %q", tt.name, errOut, tt.want)
				}
			}
			if u, _ := s.UserByUsername(t.Context(), "alice"); u.PasswordHash != changed.PasswordHash || u.Disabled {
				t.Fatalf("refused commands changed alice: %+v", u)
			}
			if sess, _ := s.Session(t.Context(), "s2"); sess.Ended() {
				t.Fatal("a refused command ended a session")
			}
			if page, _ := s.Users(t.Context(), "", 10); len(page) != 2 {
				t.Fatalf("%d users after refused commands", len(page))
			}

			// delete: the user and its sessions are gone; the name is free.
			ok("", "user", "delete", "--username", "alice")
			if _, err := s.UserByUsername(t.Context(), "alice"); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("deleted user: %v", err)
			}
			for _, id := range []string{"s1", "s2"} {
				if _, err := s.Session(t.Context(), id); !errors.Is(err, models.ErrNotFound) {
					t.Fatalf("session %s of a deleted user: %v", id, err)
				}
			}
			if out := ok("", "user", "list"); strings.Contains(out, "alice") {
				t.Fatalf("deleted user listed:\n%s", out)
			}
			ok("longenough\n", "user", "add", "--username", "alice", "--password-stdin")
		})
	}
}

// TestVersionCommand: baton version prints the -X variables, or what the
// build recorded, and the Go version.
func TestVersionCommand(t *testing.T) {
	code, out, _ := runCmd(t, environ{}, "", "version")
	if code != 0 || !strings.HasPrefix(out, "baton ") || !strings.Contains(out, runtime.Version()) {
		t.Fatalf("version: %d %q", code, out)
	}
	v, c := version, commit
	t.Cleanup(func() { version, commit = v, c })
	version, commit = "v1.2.3", "0123abcd"
	if code, out, _ := runCmd(t, environ{}, "", "version"); code != 0 || out != "baton v1.2.3 (commit 0123abcd, "+runtime.Version()+")\n" {
		t.Fatalf("version with -X: %d %q", code, out)
	}
}
