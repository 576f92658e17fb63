package storetest

import (
	"sync"
	"testing"
	"time"
)

// testRevokedTokens: a revoked jti is remembered until its expiry, a second
// revocation is harmless, and the purge forgets expired ones in batches.
func testRevokedTokens(t *testing.T, s Store) {
	ctx := t.Context()
	for jti, exp := range map[string]time.Time{"a": t0, "b": t0.Add(time.Minute), "c": t0.Add(time.Hour)} {
		if err := s.RevokeAccessToken(ctx, jti, exp); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeAccessToken(ctx, "a", t0.Add(time.Hour)); err != nil {
		t.Fatalf("second revocation: %v", err)
	}
	for jti, want := range map[string]bool{"a": true, "b": true, "c": true, "nope": false} {
		if got, err := s.AccessTokenRevoked(ctx, jti); err != nil || got != want {
			t.Fatalf("AccessTokenRevoked(%q) = %v, %v; want %v", jti, got, err, want)
		}
	}
	before := t0.Add(time.Minute + time.Microsecond) // a and b expired
	if n, err := s.PurgeRevokedTokens(ctx, before, 1); err != nil || n != 1 {
		t.Fatalf("first batch: %d, %v", n, err)
	}
	if n, err := s.PurgeRevokedTokens(ctx, before, 10); err != nil || n != 1 {
		t.Fatalf("second batch: %d, %v", n, err)
	}
	for jti, want := range map[string]bool{"a": false, "b": false, "c": true} {
		if got, _ := s.AccessTokenRevoked(ctx, jti); got != want {
			t.Fatalf("after purge %q revoked = %v, want %v", jti, got, want)
		}
	}
}

// testRevokeParallel: 30 simultaneous revocations of one token (a client
// retrying, several instances) all succeed and leave one revocation.
func testRevokeParallel(t *testing.T, s Store) {
	const n = 30
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.RevokeAccessToken(t.Context(), "j", t0.Add(time.Hour))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("revocation %d: %v", i, err)
		}
	}
	if n, err := s.PurgeRevokedTokens(t.Context(), t0.Add(2*time.Hour), 100); err != nil || n != 1 {
		t.Fatalf("%d revocations stored (%v), want 1", n, err)
	}
}
