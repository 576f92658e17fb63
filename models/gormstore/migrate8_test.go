package gormstore_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore"
	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// TestMigrationIndexesIdleSessions: sessions written before migration 8
// get their used_day from the migration, on both databases, so the idle
// sweep finds the idle ones among them and leaves the others.
func TestMigrationIndexesIdleSessions(t *testing.T) {
	for _, b := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"SQLite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "v7.db") }},
		{"Postgres", func(t *testing.T) string { return gormtest.FreshSchema(t, gormtest.PostgresURL(t)) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			s, err := gormstore.Open(ctx, b.url(t), quietLog())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.MigrateTo(ctx, 7); err != nil {
				t.Fatal(err)
			}
			now, idle := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), 720*time.Hour
			expires := now.Add(time.Hour).UnixMicro()
			stmts := []string{
				`INSERT INTO users (id, username, password_hash, created_at) VALUES ('u', 'alice', 'h', 1)`,
				`INSERT INTO clients (id, public, grants, scopes, created_at) VALUES ('c', TRUE, 'refresh_token', 'read', 1)`,
			}
			for id, used := range map[string]time.Time{"idle": now.Add(-idle - time.Minute), "live": now.Add(-idle + time.Minute)} {
				stmts = append(stmts, fmt.Sprintf(`INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at, refresh_gen)
					VALUES ('%s', 'u', 'c', 'read', %d, %d, %d, 1)`, id, used.UnixMicro(), used.UnixMicro(), expires))
			}
			for _, stmt := range stmts {
				if err := s.Exec(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			if n, err := s.Migrate(ctx); err != nil || n != gormstore.Migrations-7 {
				t.Fatalf("migrate applied %d: %v", n, err)
			}
			if n, err := s.EndExpiredSessions(ctx, now, idle, 100); err != nil || n != 1 {
				t.Fatalf("EndExpiredSessions = %d, %v; want 1", n, err)
			}
			for id, want := range map[string]string{"idle": models.EndIdle, "live": ""} {
				if got, err := s.Session(ctx, id); err != nil || got.EndReason != want {
					t.Errorf("%s: end reason %q (%v), want %q", id, got.EndReason, err, want)
				}
			}
		})
	}
}
