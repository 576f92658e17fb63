package ginresource_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/batonhq/baton/oauth/resource"
	"github.com/batonhq/baton/oauth/resource/ginresource"
)

func TestGinMiddleware(t *testing.T) {
	gin.SetMode(gin.TestMode)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = w.Write(jwks)
	}))
	defer issuer.Close()
	v, err := resource.NewVerifier(context.Background(), resource.Config{Issuer: "https://auth.example.test", Audience: "api", JWKSURL: issuer.URL})
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	now := time.Now()
	tok, _ := jwt.Signed(signer).Claims(map[string]any{"iss": "https://auth.example.test", "aud": "api", "sub": "u1",
		"client_id": "app", "scope": "read", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": "j"}).Serialize()

	r := gin.New()
	r.GET("/me", ginresource.Middleware(v, "read"), func(c *gin.Context) {
		claims, _ := ginresource.Claims(c)
		c.String(200, claims.Subject)
	})
	r.GET("/admin", ginresource.Middleware(v, "admin"), func(c *gin.Context) { c.String(200, "no") })
	for _, tt := range []struct {
		path, authz string
		status      int
		body        string
	}{
		{"/me", "Bearer " + tok, 200, "u1"},
		{"/me", "", 401, `{"error":"unauthorized"}`},
		{"/admin", "Bearer " + tok, 403, ""},
	} {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", tt.path, nil)
		if tt.authz != "" {
			req.Header.Set("Authorization", tt.authz)
		}
		r.ServeHTTP(w, req)
		if w.Code != tt.status || tt.body != "" && w.Body.String() != tt.body {
			t.Fatalf("%s: %d %s", tt.path, w.Code, w.Body)
		}
	}
}
