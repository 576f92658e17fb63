package oauth_test

import (
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
)

// BenchmarkAuthenticateClient is client authentication with a high-entropy
// secret after its first verification: an HMAC comparison against the
// cached client, no password-strength hash, no database read.
func BenchmarkAuthenticateClient(b *testing.B) {
	f := newFixture(b, gormtest.OpenSQLite(b))
	cred := oauth.ClientCredentials{ID: serviceID, Secret: secret, Method: oauth.AuthBasic}
	if _, err := f.svc.Tokens.AuthenticateClient(b.Context(), cred); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.svc.Tokens.AuthenticateClient(b.Context(), cred); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestClientSecretVerifiedOnce races 200 first authentications of one
// client with the same secret: they share one argon2id verification, and
// later ones cost none.
func TestClientSecretVerifiedOnce(t *testing.T) {
	f := newFixture(t, gormtest.OpenSQLite(t))
	before := f.svc.Shared.Hashes()
	cred := oauth.ClientCredentials{ID: serviceID, Secret: secret, Method: oauth.AuthBasic}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 200 {
		wg.Go(func() {
			if _, err := f.svc.Tokens.AuthenticateClient(t.Context(), cred); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := f.svc.Shared.Hashes() - before; n < 1 || n > 3 {
		t.Fatalf("%d argon2id verifications for 200 concurrent authentications with one secret", n)
	}
	wrong := oauth.ClientCredentials{ID: serviceID, Secret: "wrong", Method: oauth.AuthBasic}
	before = f.svc.Shared.Hashes()
	if _, err := f.svc.Tokens.AuthenticateClient(t.Context(), wrong); err == nil {
		t.Fatal("a wrong secret authenticated")
	}
	if f.svc.Shared.Hashes() == before {
		t.Fatal("a wrong secret was not verified with argon2id")
	}
}

// TestClientChangeReachesOtherInstances: two servers on one database, as
// two instances (or a server and the CLI) are. A secret rotated and a
// client deleted through one are refused by the other once its cache has
// asked the store whether clients changed (every 0.1 s), not after its
// cache's 5 s.
func TestClientChangeReachesOtherInstances(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.Open(t))
			ctx := t.Context()
			other, err := oauth.NewServer(f.store, f.signer, f.opts, f.clock.Now, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			old := oauth.ClientCredentials{ID: serviceID, Secret: secret, Method: oauth.AuthBasic}
			conf := oauth.ClientCredentials{ID: confID, Secret: secret, Method: oauth.AuthBasic}
			for _, cred := range []oauth.ClientCredentials{old, conf} {
				if _, err := f.svc.Tokens.AuthenticateClient(ctx, cred); err != nil { // cached, secret verified
					t.Fatal(err)
				}
			}
			rotated, err := other.Admin.RotateClientSecret(ctx, serviceID, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.Admin.DeleteClient(ctx, confID); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(150 * time.Millisecond)
			if _, err := f.svc.Tokens.AuthenticateClient(ctx, old); !errors.Is(err, oauth.ErrInvalidClient) {
				t.Fatalf("the old secret 0.15 s after another instance rotated it: %v, want invalid_client", err)
			}
			if _, err := f.svc.Tokens.AuthenticateClient(ctx, oauth.ClientCredentials{ID: serviceID, Secret: rotated, Method: oauth.AuthBasic}); err != nil {
				t.Fatalf("the new secret: %v", err)
			}
			if _, err := f.svc.Tokens.AuthenticateClient(ctx, conf); !errors.Is(err, oauth.ErrInvalidClient) {
				t.Fatalf("a client 0.15 s after another instance deleted it: %v, want invalid_client", err)
			}
		})
	}
}
