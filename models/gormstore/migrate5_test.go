package gormstore_test

import (
	"slices"
	"testing"

	"github.com/batonhq/baton/models/gormstore"
)

// TestMigrationAddsRoles: users and sessions written by migration 4's
// schema keep working after migration 5; existing users have no role.
func TestMigrationAddsRoles(t *testing.T) {
	upgrade(t, 4, func(string) []string {
		return []string{
			`INSERT INTO users (id, username, password_hash, created_at) VALUES ('u', 'alice', 'h', 1)`,
			`INSERT INTO clients (id, public, grants, scopes, created_at) VALUES ('c', TRUE, 'password', 'admin', 1)`,
			`INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at) VALUES ('s1', 'u', 'c', 'admin', 1, 1, 9000000000000000)`,
		}
	}, func(t *testing.T, s *gormstore.Store) {
		ctx := t.Context()
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
