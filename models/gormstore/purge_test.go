package gormstore_test

import (
	"testing"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// TestSweepLeavesSessionsChangedMeanwhile: the sweep of sessions past their
// limits chooses them, then waits for a row lock held by a transaction that
// ends the session or refreshes it and commits. It must not then end the
// session as idle: READ COMMITTED re-checks only the UPDATE's own WHERE on
// the newest row, so the limits must be there, not only in the search.
func TestSweepLeavesSessionsChangedMeanwhile(t *testing.T) {
	for _, tc := range []struct {
		name, change string
		wantReason   string
	}{
		{"ended by an admin", `UPDATE sessions SET ended_at = 5, end_reason = 'admin' WHERE id = 's1'`, models.EndAdmin},
		{"refreshed", `UPDATE sessions SET last_used_at = last_used_at + 2400000000 WHERE id = 's1'`, ""}, // +40 min
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := gormtest.FreshSchema(t, gormtest.PostgresURL(t))
			s := gormtest.OpenPostgresAt(t, url)
			seedSession(t, s) // s1: last used now, expires in an hour
			ctx := t.Context()
			_, tx, waitBlocked := lockSession(t, url, "s1")
			done := make(chan error, 1)
			var ended int64
			go func() {
				var err error // 45 minutes on, 30 idle: s1 is idle, not yet past its absolute limit
				ended, err = s.EndExpiredSessions(ctx, time.Now().Add(45*time.Minute), 30*time.Minute, 100)
				done <- err
			}()
			waitBlocked(done)
			if _, err := tx.ExecContext(ctx, tc.change); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil || ended != 0 {
				t.Fatalf("the sweep ended %d sessions (%v), want 0", ended, err)
			}
			if got, err := s.Session(ctx, "s1"); err != nil || got.EndReason != tc.wantReason {
				t.Fatalf("session ended %q (%v), want %q", got.EndReason, err, tc.wantReason)
			}
		})
	}
}
