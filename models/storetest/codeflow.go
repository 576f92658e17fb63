package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
)

// runCodeFlow runs the cases of the authorization code flow (SPEC §6).
func runCodeFlow(t *testing.T, open func(t *testing.T) Store) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, Store)
	}{
		{"ClientRedirectURIs", testClientRedirectURIs},
		{"SessionAuthTime", testSessionAuthTime},
		{"CodeRedeem", testCodeRedeem},
		{"CodeRedeemParallel", testCodeRedeemParallel},
		{"CodePurge", testCodePurge},
		{"Consent", testConsent},
		{"ConsentParallel", testConsentParallel},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

func testClientRedirectURIs(t *testing.T, s Store) {
	ctx := t.Context()
	c := models.Client{ID: "spa", Public: true, Grants: []string{"authorization_code", "refresh_token"}, CreatedAt: t0,
		RedirectURIs:   []string{"https://app.example/cb", "http://127.0.0.1/cb"},
		AllowedOrigins: []string{"https://app.example"}, Trusted: true}
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	plain := models.Client{ID: "plain", Public: true, Grants: []string{"password"}, CreatedAt: t0,
		AllowedOrigins: []string{"https://other.example", "https://app.example"}}
	if err := s.CreateClient(ctx, plain); err != nil {
		t.Fatal(err)
	}
	got, err := s.Client(ctx, "spa")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.RedirectURIs, c.RedirectURIs) || !slices.Equal(got.AllowedOrigins, c.AllowedOrigins) || !got.Trusted {
		t.Fatalf("got %+v, want %+v", got, c)
	}
	if got, err := s.Client(ctx, "plain"); err != nil || got.Trusted || len(got.RedirectURIs) != 0 {
		t.Fatalf("plain client: %+v, %v", got, err)
	}
	origins, err := s.AllowedOrigins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(origins)
	if want := []string{"https://app.example", "https://other.example"}; !slices.Equal(origins, want) {
		t.Fatalf("AllowedOrigins = %q, want %q", origins, want)
	}
}

func testSessionAuthTime(t *testing.T, s Store) {
	sess, _ := seed(t, s)
	if got, err := s.Session(t.Context(), sess.ID); err != nil || !got.AuthTime.IsZero() {
		t.Fatalf("session without auth_time: %+v, %v", got, err)
	}
	at := t0.Add(-30 * time.Second)
	s2 := models.Session{ID: "s2", UserID: "u1", ClientID: "c1", Scope: "openid", CreatedAt: t0, LastUsedAt: t0,
		ExpiresAt: t0.Add(time.Hour), AuthTime: at, RefreshGen: 1, RefreshCheck: hash("rt2")}
	if _, err := s.CreateSession(t.Context(), s2, 0); err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(t.Context(), "s2")
	if err != nil || !got.AuthTime.Equal(at.Truncate(time.Microsecond)) || got.AuthTime.Location() != time.UTC {
		t.Fatalf("auth_time = %v (%v), want %v UTC", got.AuthTime, err, at)
	}
}

// seedCode stores a user, a client and one unspent code.
func seedCode(t *testing.T, s Store, code string) models.AuthorizationCode {
	t.Helper()
	seed(t, s)
	c := models.AuthorizationCode{Hash: hash(code), ClientID: "c1", UserID: "u1", RedirectURI: "https://app.example/cb",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Scope: "openid read", Nonce: "n-0S6",
		AuthTime: t0.Add(-time.Second), CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	if err := s.CreateAuthorizationCode(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func testCodeRedeem(t *testing.T, s Store) {
	ctx := t.Context()
	c := seedCode(t, s, "code1")
	if _, err := s.RedeemAuthorizationCode(ctx, hash("nope"), t0, "sx"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown code: got %v, want ErrNotFound", err)
	}
	got, err := s.RedeemAuthorizationCode(ctx, c.Hash, t0.Add(time.Second), "sA")
	if err != nil {
		t.Fatal(err)
	}
	if got.ClientID != "c1" || got.UserID != "u1" || got.RedirectURI != c.RedirectURI || got.CodeChallenge != c.CodeChallenge ||
		got.Scope != c.Scope || got.Nonce != c.Nonce || !got.AuthTime.Equal(c.AuthTime.Truncate(time.Microsecond)) ||
		!got.ExpiresAt.Equal(c.ExpiresAt.Truncate(time.Microsecond)) || got.SessionID != "sA" || got.UsedAt.IsZero() ||
		!got.ReplayedAt.IsZero() {
		t.Fatalf("redeemed %+v, stored %+v", got, c)
	}
	again, err := s.RedeemAuthorizationCode(ctx, c.Hash, t0.Add(2*time.Second), "sB")
	if !errors.Is(err, models.ErrConflict) {
		t.Fatalf("second redemption: got %v, want ErrConflict", err)
	}
	if again.SessionID != "sA" || !again.ReplayedAt.Equal(t0.Add(2*time.Second).Truncate(time.Microsecond)) {
		t.Fatalf("second redemption reads %+v, want session sA and replayed_at set", again)
	}
	read, err := s.AuthorizationCode(ctx, c.Hash)
	if err != nil || read.SessionID != "sA" || read.ReplayedAt.IsZero() {
		t.Fatalf("AuthorizationCode = %+v, %v", read, err)
	}
	if err := s.CreateAuthorizationCode(ctx, c); !errors.Is(err, models.ErrAlreadyExists) {
		t.Fatalf("duplicate code: got %v, want ErrAlreadyExists", err)
	}
}

// testCodeRedeemParallel: 50 redemptions of one code, exactly one wins and
// every loser learns the winner's session.
func testCodeRedeemParallel(t *testing.T, s Store) {
	c := seedCode(t, s, "race")
	const n = 50
	var wg sync.WaitGroup
	results := make([]models.AuthorizationCode, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = s.RedeemAuthorizationCode(t.Context(), c.Hash, t0.Add(time.Second), fmt.Sprintf("s-%d", i))
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("redemptions %d and %d both won", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, models.ErrConflict):
			t.Fatalf("redemption %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no redemption won")
	}
	want := fmt.Sprintf("s-%d", winner)
	for i, r := range results {
		if r.SessionID != want {
			t.Fatalf("redemption %d sees session %q, want the winner's %q", i, r.SessionID, want)
		}
	}
}

func testCodePurge(t *testing.T, s Store) {
	ctx := t.Context()
	c := seedCode(t, s, "old")
	young := c
	young.Hash, young.ExpiresAt = hash("young"), t0.Add(time.Hour)
	if err := s.CreateAuthorizationCode(ctx, young); err != nil {
		t.Fatal(err)
	}
	n, err := s.PurgeAuthorizationCodes(ctx, t0.Add(2*time.Minute), 100)
	if err != nil || n != 1 {
		t.Fatalf("purged %d (%v), want 1", n, err)
	}
	if _, err := s.AuthorizationCode(ctx, c.Hash); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("expired code still there: %v", err)
	}
	if _, err := s.AuthorizationCode(ctx, young.Hash); err != nil {
		t.Fatalf("young code purged: %v", err)
	}
}

func testConsent(t *testing.T, s Store) {
	ctx := t.Context()
	seed(t, s)
	if got, err := s.Consent(ctx, "u1", "c1"); err != nil || len(got) != 0 {
		t.Fatalf("no consent yet: %q, %v", got, err)
	}
	if err := s.AddConsent(ctx, "u1", "c1", []string{"openid", "read"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.AddConsent(ctx, "u1", "c1", []string{"read", "write"}, t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.Consent(ctx, "u1", "c1")
	if err != nil || !slices.Equal(got, []string{"openid", "read", "write"}) {
		t.Fatalf("consent = %q, %v; want the union", got, err)
	}
}

// testConsentParallel: concurrent consents of one user and client lose no scope.
func testConsentParallel(t *testing.T, s Store) {
	seed(t, s)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.AddConsent(t.Context(), "u1", "c1", []string{fmt.Sprintf("s%d", i)}, t0)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Consent(t.Context(), "u1", "c1")
	if err != nil || len(got) != n {
		t.Fatalf("consent has %d scopes (%v), want %d: %q", len(got), err, n, got)
	}
}
