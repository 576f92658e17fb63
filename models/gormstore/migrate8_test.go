package gormstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore"
)

// TestMigrationIndexesIdleSessions: sessions written before migration 8
// get their used_day from the migration, on both databases, so the idle
// sweep finds the idle ones among them and leaves the others.
func TestMigrationIndexesIdleSessions(t *testing.T) {
	now, idle := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), 720*time.Hour
	used := map[string]time.Time{"idle": now.Add(-idle - time.Minute), "live": now.Add(-idle + time.Minute)}
	upgrade(t, 7, func(string) []string {
		rows := []string{
			`INSERT INTO users (id, username, password_hash, created_at) VALUES ('u', 'alice', 'h', 1)`,
			`INSERT INTO clients (id, public, grants, scopes, created_at) VALUES ('c', TRUE, 'refresh_token', 'read', 1)`,
		}
		for id, at := range used {
			rows = append(rows, fmt.Sprintf(`INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at, refresh_gen)
				VALUES ('%s', 'u', 'c', 'read', %d, %d, %d, 1)`, id, at.UnixMicro(), at.UnixMicro(), now.Add(time.Hour).UnixMicro()))
		}
		return rows
	}, func(t *testing.T, s *gormstore.Store) {
		ctx := t.Context()
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
