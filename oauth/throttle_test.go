package oauth_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/oauth"
)

func (f *fixture) loginAs(t *testing.T, user, pw, addr string) error {
	t.Helper()
	_, err := f.svc.Token(t.Context(), oauth.TokenRequest{GrantType: "password", Client: public(),
		Username: user, Password: pw, RemoteAddr: addr})
	return err
}

func retryAfter(t *testing.T, err error) time.Duration {
	t.Helper()
	var oerr *oauth.Error
	if !errors.As(err, &oerr) || !errors.Is(err, oauth.ErrThrottled) || oerr.RetryAfter <= 0 {
		t.Fatalf("got %v, want a throttled temporarily_unavailable with a retry time", err)
	}
	return oerr.RetryAfter
}

func TestThrottlePerUsername(t *testing.T) {
	f := sqlite(t)
	for i := range 5 {
		wantCode(t, f.loginAs(t, "alice", "wrong-password", fmt.Sprintf("10.0.0.%d", i)), "invalid_grant")
	}
	// The sixth attempt waits, even with the right password, even from elsewhere.
	if d := retryAfter(t, f.loginAs(t, "alice", password, "10.0.1.1")); d != time.Second {
		t.Fatalf("retry after %s, want 1s", d)
	}
	f.clock.Advance(time.Second)
	wantCode(t, f.loginAs(t, "alice", "wrong-password", "10.0.1.1"), "invalid_grant")
	if d := retryAfter(t, f.loginAs(t, "alice", password, "10.0.1.1")); d != 2*time.Second {
		t.Fatalf("retry after %s, want 2s: the wait doubles", d)
	}
	// Other users are not affected.
	if _, err := f.svc.AddUser(t.Context(), "bob", password); err != nil {
		t.Fatal(err)
	}
	if err := f.loginAs(t, "bob", password, "10.0.1.1"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Second)
	if err := f.loginAs(t, "alice", password, "10.0.1.1"); err != nil {
		t.Fatal(err)
	}
	// A success clears the count: five more failures are free again.
	for range 5 {
		wantCode(t, f.loginAs(t, "alice", "wrong-password", "10.0.2.1"), "invalid_grant")
	}
}

func TestThrottlePerAddress(t *testing.T) {
	f := sqlite(t)
	for i := range 20 { // spraying over many (unknown) names from one address
		wantCode(t, f.loginAs(t, fmt.Sprintf("user%d", i), "wrong-password", "192.0.2.7"), "invalid_grant")
	}
	retryAfter(t, f.loginAs(t, "alice", password, "192.0.2.7"))
	if err := f.loginAs(t, "alice", password, "192.0.2.8"); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

func TestThrottleForgetsOldFailures(t *testing.T) {
	f := sqlite(t)
	for range 5 {
		wantCode(t, f.loginAs(t, "alice", "wrong-password", "10.0.0.1"), "invalid_grant")
	}
	f.clock.Advance(2 * time.Hour)
	if err := f.loginAs(t, "alice", password, "10.0.0.1"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}
