package oauth_test

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
)

// TestForgedRefreshTokenNeverRevokes alters every byte of a spent token in
// turn, and presents a token minted under another key: each is
// invalid_grant, and none revokes the session (authenticity is checked
// before reuse detection acts), on both databases.
func TestForgedRefreshTokenNeverRevokes(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.Open(t))
			first := f.login(t)
			second, err := f.refresh(t.Context(), first.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Hour) // outside the grace window: the genuine spent token would revoke
			raw, err := base64.RawURLEncoding.DecodeString(first.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			for i := range raw {
				forged := append([]byte(nil), raw...)
				forged[i] ^= 0x01
				_, err := f.refresh(t.Context(), base64.RawURLEncoding.EncodeToString(forged))
				wantCode(t, err, "invalid_grant")
			}
			// The same database under another key refuses even the current
			// token, and the database's rows alone mint none.
			opts := f.opts
			opts.RefreshKey = []byte("another-key-another-key-another!")
			other, err := oauth.NewServer(f.store, f.signer, opts, f.clock.Now, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			_, err = other.Tokens.Token(t.Context(), oauth.TokenRequest{GrantType: "refresh_token", Client: public(), RefreshToken: second.RefreshToken})
			wantCode(t, err, "invalid_grant")
			_, err = other.Tokens.Token(t.Context(), oauth.TokenRequest{GrantType: "refresh_token", Client: public(), RefreshToken: first.RefreshToken})
			wantCode(t, err, "invalid_grant")
			sid := f.signer.claims(t, second.AccessToken).SessionID
			if s, _ := f.store.Session(t.Context(), sid); s.Ended() {
				t.Fatalf("a forged token ended the session: %q", s.EndReason)
			}
			if _, err := f.refresh(t.Context(), second.RefreshToken); err != nil {
				t.Fatalf("the current token must still work: %v", err)
			}
		})
	}
}

// TestOldGenerationReuseRevokes: after 50 rotations, the first token (and
// any spent one) presented again revokes the session, within the grace
// window too, since only the latest spent token has a grace; no row per
// token was kept, on both databases.
func TestOldGenerationReuseRevokes(t *testing.T) {
	for _, b := range gormtest.Backends() {
		for _, back := range []int{50, 10, 2} {
			t.Run(fmt.Sprintf("%s/%d back", b.Name, back), func(t *testing.T) {
				f := newFixture(t, b.Open(t))
				tokens := []string{f.login(t).RefreshToken}
				for range 50 {
					f.clock.Advance(time.Minute)
					next, err := f.refresh(t.Context(), tokens[len(tokens)-1])
					if err != nil {
						t.Fatal(err)
					}
					tokens = append(tokens, next.RefreshToken)
				}
				_, err := f.refresh(t.Context(), tokens[len(tokens)-1-back])
				wantCode(t, err, "invalid_grant")
				_, err = f.refresh(t.Context(), tokens[len(tokens)-1])
				wantCode(t, err, "invalid_grant") // the session is revoked
				f.login(t)
				all, err := f.store.SessionsByUser(t.Context(), f.user.ID, "", 10)
				if err != nil || len(all) != 2 || all[1].EndReason != models.EndReuseDetected || all[0].Ended() {
					t.Fatalf("sessions %+v (%v): want the old one revoked for reuse, the new login live", all, err)
				}
			})
		}
	}
}
