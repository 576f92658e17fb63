package handlers_test

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// TestTokenIgnoresUnknownParameters: RFC 6749 §3.1 and §3.2, the server
// MUST ignore unrecognized request parameters, however long or repeated;
// the ones it reads keep their limits.
func TestTokenIgnoresUnknownParameters(t *testing.T) {
	s := newServer(t, gormtest.OpenSQLite(t))
	conf := clientcredentials.Config{ClientID: "ops", ClientSecret: secret, TokenURL: s.URL + "/oauth2/token",
		EndpointParams: url.Values{"x-trace": {strings.Repeat("a", 8<<10)}, "x-list": {"1", "2"}, "x-nul": {"a\x00b"}, strings.Repeat("k", 100): {"1"}}}
	if _, err := conf.Token(t.Context()); err != nil {
		t.Fatalf("a token request with unrecognized parameters: %v", err)
	}
	conf.EndpointParams = url.Values{"code_verifier": {strings.Repeat("a", 8<<10)}}
	if _, err := conf.Token(t.Context()); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("a recognized parameter of 8 KiB: %v, want invalid_request (too long)", err)
	}
}
