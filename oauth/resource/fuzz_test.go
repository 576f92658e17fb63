package resource_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/batonhq/baton/oauth/resource"
)

// FuzzVerifyAccessToken: whatever the input, the verifier never accepts a
// token that is unsigned, signed with "none" or HMAC, or altered.
func FuzzVerifyAccessToken(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		_, _ = w.Write(jwks)
	}))
	f.Cleanup(srv.Close)
	v, err := resource.NewVerifier(context.Background(), resource.Config{Issuer: "https://iss", Audience: "api", JWKSURL: srv.URL})
	if err != nil {
		f.Fatal(err)
	}
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	now := time.Now()
	valid, _ := jwt.Signed(signer).Claims(map[string]any{"iss": "https://iss", "aud": "api", "sub": "u", "client_id": "c",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}).Serialize()
	parts := strings.Split(valid, ".")
	enc := base64.RawURLEncoding.EncodeToString
	f.Add(valid)
	f.Add(enc([]byte(`{"alg":"none","typ":"at+jwt","kid":"k1"}`)) + "." + parts[1] + ".")
	f.Add(enc([]byte(`{"alg":"HS256","typ":"at+jwt","kid":"k1"}`)) + "." + parts[1] + "." + parts[2])
	f.Add(parts[0] + "." + parts[1])
	f.Add(parts[0] + "." + enc([]byte(`{"iss":"https://iss","aud":"api","sub":"admin","client_id":"c"}`)) + "." + parts[2])
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(context.Background(), token)
		if err != nil {
			return
		}
		// Only the signed token itself (base64 may spell it differently).
		got, want := strings.Split(token, "."), parts
		for i := range 2 {
			a, _ := base64.RawURLEncoding.DecodeString(got[i])
			b, _ := base64.RawURLEncoding.DecodeString(want[i])
			if string(a) != string(b) {
				t.Fatalf("accepted a token the issuer never signed: %q (sub %q)", token, c.Subject)
			}
		}
	})
}
