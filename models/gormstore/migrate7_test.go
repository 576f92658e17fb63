package gormstore_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/models/gormstore"
	"github.com/batonhq/baton/oauth"
)

type noKeys struct{}

func (noKeys) Sign(context.Context, string, []byte) (string, error) { return "signed", nil }
func (noKeys) Verify(string, string) ([]byte, error)                { return nil, errors.New("no") }

// TestMigrationKeepsLegacySessions: sessions written by migration 6's
// schema, with random refresh tokens stored by hash, keep working across
// migration 7 on both databases. The current legacy token refreshes once
// more and upgrades its session to generation tokens; presented again
// within the grace window it gets the same successor; a legacy token spent
// before the upgrade still revokes its session; nothing is added to
// refresh_tokens.
func TestMigrationKeepsLegacySessions(t *testing.T) {
	now := time.Now().UTC()
	// Legacy tokens: 32 random bytes, base64url (43 characters).
	spent, current := "spent-legacy-token-spent-legacy-token-00000", "current-legacy-token-current-legacy-token-0"
	other, otherSpent := "other-session-current-legacy-token-00000000", "other-session-spent-legacy-token-0000000000"
	for _, tok := range []string{spent, current, other, otherSpent} {
		if len(tok) != 43 {
			t.Fatalf("legacy token %q has %d characters, want 43", tok, len(tok))
		}
	}
	upgrade(t, 6, func(bytes string) []string {
		h := func(tok string) string { sum := sha256.Sum256([]byte(tok)); return fmt.Sprintf(bytes, sum[:]) }
		us := now.Add(-time.Hour).UnixMicro()
		return []string{
			`INSERT INTO users (id, username, password_hash, created_at) VALUES ('u', 'alice', 'h', 1)`,
			`INSERT INTO clients (id, public, grants, scopes, created_at) VALUES ('c', TRUE, 'password refresh_token', 'read', 1)`,
			fmt.Sprintf(`INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at) VALUES ('s1', 'u', 'c', 'read', %d, %d, %d)`,
				us, us, now.Add(time.Hour).UnixMicro()),
			fmt.Sprintf(`INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at) VALUES ('s2', 'u', 'c', 'read', %d, %d, %d)`,
				us, us, now.Add(time.Hour).UnixMicro()),
			fmt.Sprintf(`INSERT INTO refresh_tokens (hash, session_id, created_at, spent_at, successor_hash) VALUES (%s, 's1', %d, %d, %s)`, h(spent), us, us, h(current)),
			fmt.Sprintf(`INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES (%s, 's1', %d)`, h(current), us),
			fmt.Sprintf(`INSERT INTO refresh_tokens (hash, session_id, created_at, spent_at, successor_hash) VALUES (%s, 's2', %d, %d, %s)`, h(otherSpent), us, us, h(other)),
			fmt.Sprintf(`INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES (%s, 's2', %d)`, h(other), us),
		}
	}, func(t *testing.T, s *gormstore.Store) {
		ctx := t.Context()
		clock := now
		svc, err := oauth.NewServer(s, noKeys{}, oauth.Options{Issuer: "https://i.test", AccessTokenTTL: time.Minute,
			RefreshIdleTTL: 24 * time.Hour, SessionMaxTTL: 72 * time.Hour, RefreshReuseGrace: 10 * time.Second,
			RefreshKey: []byte("k-refresh-k-refresh-k-refresh-32")}, func() time.Time { return clock }, quietLog())
		if err != nil {
			t.Fatal(err)
		}
		refresh := func(tok string) (string, error) {
			resp, err := svc.Tokens.Token(ctx, oauth.TokenRequest{GrantType: "refresh_token",
				Client: oauth.ClientCredentials{ID: "c", Method: oauth.AuthNone}, RefreshToken: tok})
			return resp.RefreshToken, err
		}
		rows := func() int64 {
			var total int64
			for _, id := range []string{"s1", "s2"} {
				n, _, err := s.SessionFootprint(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				total += n
			}
			return total
		}
		before := rows()
		// The current legacy token upgrades its session.
		next, err := refresh(current)
		if err != nil {
			t.Fatalf("current legacy token after the migration: %v", err)
		}
		if again, err := refresh(current); err != nil || again != next {
			t.Fatalf("legacy token within the grace window: %v (same successor: %v)", err, again == next)
		}
		if sess, _ := s.Session(ctx, "s1"); sess.RefreshGen != 1 || sess.RefreshCheck == nil {
			t.Fatalf("session after the upgrade: gen %d", sess.RefreshGen)
		}
		for range 20 {
			clock = clock.Add(time.Second)
			if next, err = refresh(next); err != nil {
				t.Fatal(err)
			}
		}
		if got := rows(); got != before {
			t.Fatalf("%d rows for the two sessions after refreshes, %d before", got, before)
		}
		// The upgraded legacy token, now two generations back, revokes.
		if _, err := refresh(current); err == nil {
			t.Fatal("a spent legacy token was accepted")
		}
		if sess, _ := s.Session(ctx, "s1"); sess.EndReason != "reuse_detected" {
			t.Fatalf("session s1 ended %q, want reuse_detected", sess.EndReason)
		}
		// A legacy token spent before the upgrade revokes too.
		if _, err := refresh(otherSpent); err == nil {
			t.Fatal("a spent legacy token was accepted")
		}
		if sess, _ := s.Session(ctx, "s2"); sess.EndReason != "reuse_detected" {
			t.Fatalf("session s2 ended %q, want reuse_detected", sess.EndReason)
		}
	})
}
