package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
)

// TestSessionsPurgeCommand: `baton sessions purge` runs the maintenance
// serve runs every minute, once, with the default limits (idle 720 h, audit
// retention 720 h): a session idle past its limit and one past its
// absolute limit are ended with their reasons, an ended session older than
// the retention is deleted, and the others are left as they were. A second
// run finds nothing to do.
func TestSessionsPurgeCommand(t *testing.T) {
	for name, dbURL := range backendsURL(t) {
		t.Run(name, func(t *testing.T) {
			url := dbURL(t)
			e := environ{"BATON_DATABASE_URL": url, "BATON_KEK": randomKEK(t), "BATON_LOG_LEVEL": "warn"}
			if code, _, errOut := runCmd(t, e, "hunter2hunter2\n", "user", "add", "--username", "alice", "--password-stdin"); code != 0 {
				t.Fatal(errOut)
			}
			if code, _, errOut := runCmd(t, e, "", "client", "add", "--id", "app", "--public", "--grants", "password,refresh_token"); code != 0 {
				t.Fatal(errOut)
			}

			now := time.Now()
			day := 24 * time.Hour
			sessions := []struct {
				id                      string
				used, expires, endedAgo time.Duration // before now; expires after now
				want                    string        // end reason after the purge; "gone": deleted
			}{
				{id: "live", used: time.Hour, expires: day, want: ""},
				{id: "idle", used: 721 * time.Hour, expires: 1000 * time.Hour, want: models.EndIdle},
				{id: "absolute", used: time.Hour, expires: -time.Minute, want: models.EndAbsolute},
				{id: "ended-recently", used: 2 * time.Hour, expires: day, endedAgo: time.Hour, want: models.EndAdmin},
				{id: "ended-long-ago", used: 800 * time.Hour, expires: day, endedAgo: 721 * time.Hour, want: "gone"},
			}
			s := openStore(t, e)
			alice, err := s.UserByUsername(t.Context(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range sessions {
				sess := models.Session{ID: c.id, UserID: alice.ID, ClientID: "app", Scope: "read",
					CreatedAt: now.Add(-c.used - time.Hour), LastUsedAt: now.Add(-c.used), ExpiresAt: now.Add(c.expires),
					RefreshGen: 1, RefreshCheck: make([]byte, 32)}
				if _, err := s.CreateSession(t.Context(), sess, 0); err != nil {
					t.Fatal(err)
				}
				if c.endedAgo > 0 {
					if _, err := s.EndSession(t.Context(), c.id, models.SessionEnd{At: now.Add(-c.endedAgo), Reason: models.EndAdmin}); err != nil {
						t.Fatal(err)
					}
				}
			}

			for run := 1; run <= 2; run++ {
				code, out, errOut := runCmd(t, e, "", "sessions", "purge")
				if code != 0 || !strings.HasPrefix(out, "purged in ") {
					t.Fatalf("run %d: exit %d, stdout %q, stderr %q", run, code, out, errOut)
				}
				s := openStore(t, e)
				for _, c := range sessions {
					got, err := s.Session(t.Context(), c.id)
					switch {
					case c.want == "gone":
						if !errors.Is(err, models.ErrNotFound) {
							t.Errorf("run %d: session %s: err %v, want it deleted", run, c.id, err)
						}
					case err != nil:
						t.Errorf("run %d: session %s: %v", run, c.id, err)
					case got.EndReason != c.want || got.Ended() != (c.want != ""):
						t.Errorf("run %d: session %s: ended %v, reason %q; want reason %q", run, c.id, got.Ended(), got.EndReason, c.want)
					}
				}
			}
		})
	}
}
