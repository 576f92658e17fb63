package oauth_test

import (
	"testing"

	"github.com/batonhq/baton/models/storetest"
	"github.com/batonhq/baton/oauth"
)

// BenchmarkAuthenticateClient is client authentication with a high-entropy
// secret after its first verification: an HMAC comparison against the
// cached client, no password-strength hash, no database read.
func BenchmarkAuthenticateClient(b *testing.B) {
	f := newFixture(b, storetest.OpenSQLite(b))
	cred := oauth.ClientCredentials{ID: serviceID, Secret: secret, Method: oauth.AuthBasic}
	if _, err := f.svc.AuthenticateClient(b.Context(), cred); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.svc.AuthenticateClient(b.Context(), cred); err != nil {
				b.Fatal(err)
			}
		}
	})
}
