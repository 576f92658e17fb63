package oauth_test

import (
	"sync"
	"testing"

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
