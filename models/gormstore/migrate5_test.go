package gormstore_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/batonhq/baton/models/gormstore"
	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// TestMigrationAddsRoles: users and sessions written by migration 4's
// schema keep working after migration 5; existing users have no role.
func TestMigrationAddsRoles(t *testing.T) {
	for name, url := range map[string]func(t *testing.T) string{
		"SQLite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "v4.db") },
		"Postgres": func(t *testing.T) string { return gormtest.FreshSchema(t, gormtest.PostgresURL(t)) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			s, err := gormstore.Open(ctx, url(t), quietLog())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.MigrateTo(ctx, 4); err != nil {
				t.Fatal(err)
			}
			for _, stmt := range []string{
				`INSERT INTO users (id, username, password_hash, created_at) VALUES ('u', 'alice', 'h', 1)`,
				`INSERT INTO clients (id, public, grants, scopes, created_at) VALUES ('c', TRUE, 'password', 'admin', 1)`,
				`INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at) VALUES ('s1', 'u', 'c', 'admin', 1, 1, 9000000000000000)`,
			} {
				if err := s.Exec(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			if n, err := s.Migrate(ctx); err != nil || n != gormstore.Migrations-4 {
				t.Fatalf("migrate applied %d: %v", n, err)
			}
			_, u, err := s.SessionWithUser(ctx, "s1")
			if err != nil || u.Username != "alice" || len(u.Roles) != 0 {
				t.Fatalf("user after migration: %+v, %v; want alice without roles", u, err)
			}
			u, err = s.UpdateUserRoles(ctx, "alice", func(r []string) ([]string, error) { return append(r, "admin"), nil })
			if err != nil || !slices.Equal(u.Roles, []string{"admin"}) {
				t.Fatalf("grant after migration: %+v, %v", u, err)
			}
			if revoked, err := s.AccessTokenRevoked(ctx, "j"); err != nil || revoked {
				t.Fatalf("revoked_tokens: %v, %v", revoked, err)
			}
		})
	}
}
