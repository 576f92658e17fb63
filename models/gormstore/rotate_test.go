package gormstore_test

import (
	"database/sql"
	"errors"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/storetest"
)

// TestRotateLosesToCommittedRotation makes the race of two presentations
// of one token happen for sure on Postgres: the one-step rotation takes its
// snapshot while the token is current, then waits for the session's lock
// while another transaction spends the token and commits. It must then
// rotate nothing (the token it read as current is spent by now) and leave
// the other rotation's successor as the only current token.
func TestRotateLosesToCommittedRotation(t *testing.T) {
	url := storetest.FreshSchema(t, storetest.PostgresURL(t))
	s := storetest.OpenPostgresAt(t, url)
	first, theirs, mine := randomBytes(), randomBytes(), randomBytes()
	seedSession(t, s, first)

	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var holder int
	if err := tx.QueryRowContext(ctx, `SELECT pg_backend_pid() FROM sessions WHERE id = 's1' FOR UPDATE`).Scan(&holder); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := s.RotateRefreshToken(ctx, models.Rotation{Hash: first, ClientID: "c", UsedAfter: now.Add(-time.Hour),
			Next: models.RefreshToken{Hash: mine, CreatedAt: now}, SealedSuccessor: []byte("x")})
		done <- err
	}()
	for waiting := 0; waiting == 0; {
		select {
		case err := <-done:
			t.Fatalf("the rotation did not wait for the session's lock: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE $1 = ANY(pg_blocking_pids(pid))`, holder).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}
	at := now.UnixMicro()
	if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET spent_at = $1, successor_hash = $2 WHERE hash = $3`, at, theirs, first); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES ($1, 's1', $2)`, theirs, at); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, models.ErrNotRotated) {
		t.Fatalf("the rotation that lost returned %v, want ErrNotRotated", err)
	}
	cur, err := s.CurrentRefreshTokens(ctx, "s1")
	if err != nil || len(cur) != 1 || string(cur[0].Hash) != string(theirs) {
		t.Fatalf("current tokens %d (%v), want only the winner's successor", len(cur), err)
	}
}
