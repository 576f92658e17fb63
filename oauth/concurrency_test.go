package oauth_test

import (
	"sync"
	"testing"

	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
)

// TestConcurrentRefreshSameToken races 200 presentations of one refresh
// token (SPEC §3 rule 2): every one succeeds with the same successor and the
// session is left with exactly one current token.
func TestConcurrentRefreshSameToken(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.Open(t))
			first := f.login(t)
			const n = 200
			results := make([]oauth.TokenResponse, n)
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					results[i], errs[i] = f.refresh(t.Context(), first.RefreshToken)
				}()
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("presentation %d: %v", i, err)
				}
				if results[i].RefreshToken != results[0].RefreshToken {
					t.Fatalf("presentation %d got another successor", i)
				}
			}
			sid := f.signer.claims(t, results[0].AccessToken).SessionID
			cur, err := f.store.CurrentRefreshTokens(t.Context(), sid)
			if err != nil {
				t.Fatal(err)
			}
			if len(cur) != 1 {
				t.Fatalf("%d current refresh tokens, want 1", len(cur))
			}
			if _, err := f.refresh(t.Context(), results[0].RefreshToken); err != nil {
				t.Fatalf("the successor must work: %v", err)
			}
		})
	}
}

// TestConcurrentReuseAfterGrace: once the window has passed, racing replays
// of a spent token all fail and the session dies.
func TestConcurrentReuseAfterGrace(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.Open(t))
			first := f.login(t)
			second, err := f.refresh(t.Context(), first.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(f.opts.RefreshReuseGrace + 1)
			var wg sync.WaitGroup
			errs := make([]error, 50)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = f.refresh(t.Context(), first.RefreshToken)
				}()
			}
			wg.Wait()
			for _, err := range errs {
				wantCode(t, err, "invalid_grant")
			}
			_, err = f.refresh(t.Context(), second.RefreshToken)
			wantCode(t, err, "invalid_grant")
		})
	}
}
