package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/models/storetest"
	"github.com/batonhq/baton/oauth"
)

func (f *fixture) loginAs(t *testing.T, user, pw, addr string) error {
	t.Helper()
	_, err := f.svc.Tokens.Token(t.Context(), oauth.TokenRequest{GrantType: "password", Client: public(),
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
	if _, err := f.svc.Admin.AddUser(t.Context(), "bob", password); err != nil {
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

// waitFor polls cond (the state of other goroutines) for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// TestThrottleCountsAttemptsInFlight sends 19 wrong passwords at once while
// hashing is held, then the right one: the attempts in flight count, so
// only the free failures are tried, the right password is refused, and no
// success wipes the username's count.
func TestThrottleCountsAttemptsInFlight(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.Open(t))
			unblock := f.svc.Shared.BlockHashing()
			errs := make([]error, 20)
			var answered atomic.Int64
			var wg sync.WaitGroup
			for i := range 19 {
				wg.Go(func() {
					errs[i] = f.loginAs(t, "alice", "wrong-password", fmt.Sprintf("10.0.0.%d", i))
					answered.Add(1)
				})
			}
			inFlight := func(n int64) func() bool {
				return func() bool { return answered.Load()+f.svc.Shared.HashWaiters() == n }
			}
			waitFor(t, "the wrong passwords are answered or hashing", inFlight(19))
			wg.Go(func() { errs[19] = f.loginAs(t, "alice", password, "10.0.1.1"); answered.Add(1) })
			waitFor(t, "the right password is answered or hashing", inFlight(20))
			unblock()
			wg.Wait()
			if errs[19] == nil {
				t.Fatal("the right password logged in after the free failures were used")
			}
			retryAfter(t, errs[19])
			tried := 0
			for _, err := range errs[:19] {
				if errors.Is(err, oauth.ErrInvalidGrant) {
					tried++
				} else {
					retryAfter(t, err)
				}
			}
			if tried != 5 {
				t.Fatalf("%d wrong passwords tried, want the 5 free ones", tried)
			}
			retryAfter(t, f.loginAs(t, "alice", password, "10.0.1.1")) // the count stands
		})
	}
}

// TestClientSecretsThrottledPerAddress: wrong secrets from one address are
// counted; past the free ones they are refused without hashing, while the
// right secret from elsewhere still authenticates.
func TestClientSecretsThrottledPerAddress(t *testing.T) {
	f := sqlite(t)
	cred := func(i int, addr string) oauth.ClientCredentials {
		return oauth.ClientCredentials{ID: serviceID, Secret: fmt.Sprintf("wrong-%d", i), Method: oauth.AuthBasic, Addr: addr}
	}
	for i := range 20 {
		_, err := f.svc.Tokens.AuthenticateClient(t.Context(), cred(i, "192.0.2.1"))
		wantCode(t, err, "invalid_client")
	}
	before := f.svc.Shared.Hashes()
	_, err := f.svc.Tokens.AuthenticateClient(t.Context(), cred(20, "192.0.2.1"))
	retryAfter(t, err)
	if f.svc.Shared.Hashes() != before {
		t.Fatal("a throttled secret was hashed")
	}
	ok := oauth.ClientCredentials{ID: serviceID, Secret: secret, Method: oauth.AuthBasic, Addr: "192.0.2.2"}
	if _, err := f.svc.Tokens.AuthenticateClient(t.Context(), ok); err != nil {
		t.Fatalf("the right secret from another address: %v", err)
	}
}

// countingStore counts client lookups.
type countingStore struct {
	storetest.Store
	lookups atomic.Int64
}

func (s *countingStore) Client(ctx context.Context, id string) (models.Client, error) {
	s.lookups.Add(1)
	return s.Store.Client(ctx, id)
}

// TestClientAuthFailuresLookAlike: unknown, public and confidential
// clients fail with one text; an unknown client costs no hash and is
// looked up once per client TTL, until this process creates it.
func TestClientAuthFailuresLookAlike(t *testing.T) {
	store := &countingStore{Store: gormtest.OpenSQLite(t)}
	f := newFixture(t, store)
	before := f.svc.Shared.Hashes()
	var texts []string
	for _, c := range []oauth.ClientCredentials{
		{ID: "nobody", Secret: secret, Method: oauth.AuthBasic},
		{ID: "nobody", Method: oauth.AuthNone},
		{ID: publicID, Secret: secret, Method: oauth.AuthPost},
		{ID: confID, Method: oauth.AuthNone},
		{ID: confID, Secret: "wrong", Method: oauth.AuthBasic},
	} {
		_, err := f.svc.Tokens.AuthenticateClient(t.Context(), c)
		var oerr *oauth.Error
		if !errors.As(err, &oerr) || oerr.Code != "invalid_client" {
			t.Fatalf("%+v: %v", c, err)
		}
		texts = append(texts, oerr.Description)
	}
	if len(slices.Compact(slices.Clone(texts))) != 1 {
		t.Fatalf("failures tell clients apart: %q", texts)
	}
	if n := f.svc.Shared.Hashes() - before; n != 1 {
		t.Fatalf("%d hashes, want one (the wrong secret of a known client)", n)
	}
	lookups := store.lookups.Load()
	unknown := oauth.ClientCredentials{ID: "later", Secret: secret, Method: oauth.AuthBasic}
	for range 3 {
		wantCode(t, func() error { _, err := f.svc.Tokens.AuthenticateClient(t.Context(), unknown); return err }(), "invalid_client")
	}
	if n := store.lookups.Load() - lookups; n != 1 {
		t.Fatalf("%d lookups of one unknown client, want 1", n)
	}
	if _, err := f.svc.Admin.AddClient(t.Context(), oauth.ClientSpec{ID: "later", Secret: secret, Grants: []string{"client_credentials"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Tokens.AuthenticateClient(t.Context(), unknown); err != nil {
		t.Fatalf("a client created here is still unknown: %v", err)
	}
}

// TestSharedVerificationEndsWithItsCallers: a secret verification waiting
// for the hasher leaves the queue when the last caller waiting for it gives
// up, and is never hashed; while one caller still waits, it goes on.
func TestSharedVerificationEndsWithItsCallers(t *testing.T) {
	f := sqlite(t)
	unblock := f.svc.Shared.BlockHashing()
	cred := oauth.ClientCredentials{ID: serviceID, Secret: "wrong-secret", Method: oauth.AuthBasic}
	before := f.svc.Shared.Hashes()
	ctx1, cancel1 := context.WithCancel(t.Context())
	ctx2, cancel2 := context.WithCancel(t.Context())
	errs := make(chan error, 2)
	for _, ctx := range []context.Context{ctx1, ctx2} {
		go func() { _, err := f.svc.Tokens.AuthenticateClient(ctx, cred); errs <- err }()
	}
	waitFor(t, "both callers wait for one verification, which waits for the hasher", func() bool {
		return f.svc.Shared.SecretWaiters() == 2 && f.svc.Shared.HashWaiters() == 1
	})
	cancel1()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that gave up: %v", err)
	}
	if f.svc.Shared.HashWaiters() != 1 {
		t.Fatal("the verification left the queue while a caller still waits for it")
	}
	cancel2()
	<-errs
	waitFor(t, "the verification leaves the queue", func() bool { return f.svc.Shared.HashWaiters() == 0 })
	unblock()
	// A new caller verifies afresh (the abandoned run is not joined).
	_, err := f.svc.Tokens.AuthenticateClient(t.Context(), cred)
	wantCode(t, err, "invalid_client")
	if n := f.svc.Shared.Hashes() - before; n != 1 {
		t.Fatalf("%d hashes, want 1: the abandoned verification must not be hashed", n)
	}
}
