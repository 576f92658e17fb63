package oauth_test

import (
	"testing"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
)

// TestSpentTokenFromAnotherClient: SPEC §3 rule 3. The grace window (rule
// 2) is for the same client only: a spent token presented by another
// client leaked, however recently it was rotated, and the session ends.
// A current token presented by another client is only refused (rule 4).
func TestSpentTokenFromAnotherClient(t *testing.T) {
	for _, b := range gormtest.Backends() {
		for _, tt := range []struct {
			name  string
			after time.Duration
			spent bool
		}{
			{"spent, immediately", 0, true},
			{"spent, at the grace limit", 10 * time.Second, true},
			{"spent, one nanosecond after", 10*time.Second + time.Nanosecond, true},
			{"current", 0, false},
		} {
			t.Run(b.Name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, b.Open(t))
				ctx := t.Context()
				first := f.login(t) // issued to the public client
				presented, current := first.RefreshToken, first
				if tt.spent {
					second, err := f.refresh(ctx, first.RefreshToken)
					if err != nil {
						t.Fatal(err)
					}
					current = second
				}
				f.clock.Advance(tt.after)
				_, err := f.svc.Tokens.Token(ctx, oauth.TokenRequest{GrantType: "refresh_token", Client: confidential(), RefreshToken: presented})
				wantCode(t, err, "invalid_grant")
				sid := f.signer.claims(t, current.AccessToken).SessionID
				s, _ := f.store.Session(ctx, sid)
				if !tt.spent {
					if s.Ended() {
						t.Fatalf("a current token refused for another client ended the session (%s)", s.EndReason)
					}
					if _, err := f.refresh(ctx, current.RefreshToken); err != nil {
						t.Fatalf("the rightful client must still refresh: %v", err)
					}
					return
				}
				if s.EndReason != models.EndReuseDetected {
					t.Fatalf("end reason %q, want %q", s.EndReason, models.EndReuseDetected)
				}
				_, err = f.refresh(ctx, current.RefreshToken)
				wantCode(t, err, "invalid_grant")
				if f.active(t, current.AccessToken) {
					t.Fatal("access token of the revoked session still active")
				}
			})
		}
	}
}
