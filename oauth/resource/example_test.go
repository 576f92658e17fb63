package resource_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/batonhq/baton/oauth/resource"
)

// A resource server accepting baton's access tokens: the JWKS is found
// through the issuer's metadata, cached, and refetched on rotation.
func Example() {
	v, err := resource.NewVerifier(context.Background(), resource.Config{
		Issuer:   "https://auth.example.com",
		Audience: "https://api.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Middleware("read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := resource.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "orders of %s\n", claims.Subject)
	})))
	log.Fatal(http.ListenAndServe(":9000", mux))
}
