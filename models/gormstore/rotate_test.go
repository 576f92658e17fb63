package gormstore_test

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore"
	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// TestRotateLosesToCommittedRotation makes the race of two presentations
// of one generation happen for sure on Postgres: the one-step rotation
// waits for the session's lock while another transaction rotates the
// generation and commits. It must then rotate nothing (READ COMMITTED
// re-checks refresh_gen on the newest row) and leave the other's rotation.
func TestRotateLosesToCommittedRotation(t *testing.T) {
	url := gormtest.FreshSchema(t, gormtest.PostgresURL(t))
	s := gormtest.OpenPostgresAt(t, url)
	seedSession(t, s)

	ctx := t.Context()
	_, tx, waitBlocked := lockSession(t, url, "s1")

	now := time.Now()
	done := make(chan error, 1)
	var rotated bool
	go func() {
		var err error
		_, rotated, err = s.RotateRefresh(ctx, models.Rotation{SessionID: "s1", Gen: 1, Check: seedCheck, ClientID: "c",
			At: now, UsedAfter: now.Add(-time.Hour)})
		done <- err
	}()
	waitBlocked(done)
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET refresh_gen = 2, rotated_at = $1 WHERE id = 's1'`, now.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil || rotated {
		t.Fatalf("the rotation that lost returned %v, %v; want false", rotated, err)
	}
	if got, err := s.Session(ctx, "s1"); err != nil || got.RefreshGen != 2 {
		t.Fatalf("generation %d (%v), want only the winner's rotation", got.RefreshGen, err)
	}
}

// lockSession holds the row lock of session id in a transaction on a
// connection of its own. waitBlocked returns once another backend waits for
// that lock; it fails the test if a value arrives on gaveUp first.
func lockSession(t *testing.T, url, id string) (db *sql.DB, tx *sql.Tx, waitBlocked func(gaveUp <-chan error)) {
	t.Helper()
	ctx := t.Context()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if tx, err = db.BeginTx(ctx, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	var holder int
	if err := tx.QueryRowContext(ctx, `SELECT pg_backend_pid() FROM sessions WHERE id = $1 FOR UPDATE`, id).Scan(&holder); err != nil {
		t.Fatal(err)
	}
	return db, tx, func(gaveUp <-chan error) {
		for waiting := 0; waiting == 0; {
			select {
			case err := <-gaveUp:
				t.Fatalf("the rotation did not wait for the session's lock: %v", err)
			case <-time.After(5 * time.Millisecond):
			}
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, holder).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestMigrationMovesSealedSuccessors applies migration 4 to a database
// holding a rotated chain written by migration 3's schema: the sealed
// successor, stored on the spent token's row before, must still be found
// (now on the successor's row) and forgotten by the spend time.
func TestMigrationMovesSealedSuccessors(t *testing.T) {
	upgrade(t, 3, func(bytes string) []string {
		lit := func(v string) string { return fmt.Sprintf(bytes, v) }
		return []string{
			`INSERT INTO users (id, username, password_hash, created_at) VALUES ('u', 'u', 'h', 1)`,
			`INSERT INTO clients (id, public, grants, scopes, created_at) VALUES ('c', TRUE, 'refresh_token', '', 1)`,
			`INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at) VALUES ('s1', 'u', 'c', '', 1, 30, 9000000000000000)`,
			"INSERT INTO refresh_tokens (hash, session_id, created_at, spent_at, successor_hash, sealed_successor) VALUES (" + lit("a") + ", 's1', 1, 20, " + lit("b") + ", " + lit("sealed-b") + ")",
			"INSERT INTO refresh_tokens (hash, session_id, created_at, spent_at, successor_hash, sealed_successor) VALUES (" + lit("b") + ", 's1', 20, 30, " + lit("c") + ", " + lit("sealed-c") + ")",
			"INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES (" + lit("c") + ", 's1', 30)",
		}
	}, func(t *testing.T, s *gormstore.Store) {
		ctx := t.Context()
		for _, tc := range []struct{ token, sealed string }{{"a", "sealed-b"}, {"b", "sealed-c"}, {"c", ""}} {
			st, err := s.InspectRefreshToken(ctx, []byte(tc.token))
			if err != nil || string(st.Legacy.SealedSuccessor) != tc.sealed {
				t.Fatalf("token %s: sealed successor %q (%v), want %q", tc.token, st.Legacy.SealedSuccessor, err, tc.sealed)
			}
		}
		// Token a was spent at 20 µs: only its sealed successor goes.
		if n, err := s.ForgetSuccessors(ctx, time.UnixMicro(21)); err != nil || n != 1 {
			t.Fatalf("forgot %d (%v), want 1", n, err)
		}
		if st, _ := s.InspectRefreshToken(ctx, []byte("b")); string(st.Legacy.SealedSuccessor) != "sealed-c" {
			t.Fatalf("token b lost its sealed successor: %q", st.Legacy.SealedSuccessor)
		}
	})
}
