package main

import (
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/batonhq/baton/models/gormstore"
)

// rolesOf reads a user's roles straight from the database.
func rolesOf(t *testing.T, e environ, username string) []string {
	t.Helper()
	s, err := gormstore.Open(t.Context(), e["BATON_DATABASE_URL"], slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.UserByUsername(t.Context(), username)
	if err != nil {
		t.Fatalf("user %s: %v", username, err)
	}
	return u.Roles
}

// TestUserRoles: user add --role, user grant and user revoke-role (SPEC §7).
func TestUserRoles(t *testing.T) {
	e := sqliteEnv(t.TempDir())
	ok := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := runCmd(t, e, stdin, args...)
		if code != 0 {
			t.Fatalf("baton %s: %d %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	if out := ok("longenough\n", "user", "add", "--username", "root", "--password-stdin", "--role", "admin"); !strings.Contains(out, "roles: admin") {
		t.Fatalf("user add --role admin: %q", out)
	}
	ok("longenough\n", "user", "add", "--username", "alice", "--password-stdin")
	if got := rolesOf(t, e, "root"); !slices.Equal(got, []string{"admin"}) {
		t.Fatalf("root roles %q, want admin", got)
	}
	if got := rolesOf(t, e, "alice"); len(got) != 0 {
		t.Fatalf("alice roles %q, want none", got)
	}
	ok("", "user", "grant", "--username", "alice", "--role", "admin")
	ok("", "user", "grant", "--username", "alice", "--role", "admin") // again: no duplicate
	if got := rolesOf(t, e, "alice"); !slices.Equal(got, []string{"admin"}) {
		t.Fatalf("alice roles after grant %q, want admin", got)
	}
	if out := ok("", "user", "revoke-role", "--username", "root", "--role", "admin"); !strings.Contains(out, "no roles") {
		t.Fatalf("revoke-role: %q", out)
	}
	if got := rolesOf(t, e, "root"); len(got) != 0 {
		t.Fatalf("root roles after revoke-role %q, want none", got)
	}

	for _, tt := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"add unknown role", "longenough\n", []string{"user", "add", "--username", "carol", "--password-stdin", "--role", "root"}, `unknown role "root"`},
		{"grant unknown role", "", []string{"user", "grant", "--username", "alice", "--role", "superuser"}, `unknown role "superuser"`},
		{"revoke unknown role", "", []string{"user", "revoke-role", "--username", "alice", "--role", "superuser"}, `unknown role "superuser"`},
		{"grant unknown user", "", []string{"user", "grant", "--username", "nobody", "--role", "admin"}, `user "nobody"`},
		{"revoke unknown user", "", []string{"user", "revoke-role", "--username", "nobody", "--role", "admin"}, `user "nobody"`},
		{"grant without role", "", []string{"user", "grant", "--username", "alice"}, "--role"},
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
	// Nothing was written by the failed commands.
	if got := rolesOf(t, e, "alice"); !slices.Equal(got, []string{"admin"}) {
		t.Fatalf("alice roles %q after refused commands, want admin", got)
	}
	ok("longenough\n", "user", "add", "--username", "carol", "--password-stdin")
}
