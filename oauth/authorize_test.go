package oauth

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/batonhq/baton/models"
)

const testChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 Appendix B

func TestCheckAuthorization(t *testing.T) {
	app := &models.Client{ID: "app", Grants: []string{"authorization_code"}, Scopes: []string{"openid", "read"},
		RedirectURIs: []string{"https://app.example/cb", "http://127.0.0.1/cb"}}
	one := &models.Client{ID: "one", Grants: []string{"authorization_code"}, Scopes: []string{"read"},
		RedirectURIs: []string{"https://one.example/cb?x=1"}}
	pw := &models.Client{ID: "pw", Grants: []string{"password"}, RedirectURIs: []string{"https://pw.example/cb"}}
	good := func() AuthorizationRequest {
		return AuthorizationRequest{ResponseType: "code", ClientID: "app", RedirectURI: "https://app.example/cb",
			Scope: "openid", ScopeGiven: true, State: "xyz", CodeChallenge: testChallenge, CodeChallengeMethod: "S256"}
	}
	for _, tt := range []struct {
		name     string
		client   *models.Client
		edit     func(*AuthorizationRequest)
		code     string // "" when valid
		redirect string // "" for an error page
	}{
		{"valid", app, func(*AuthorizationRequest) {}, "", ""},
		{"loopback any port", app, func(r *AuthorizationRequest) { r.RedirectURI = "http://127.0.0.1:49152/cb" }, "", ""},
		{"single redirect implied", one, func(r *AuthorizationRequest) { r.ClientID, r.RedirectURI, r.Scope = "one", "", "" }, "", ""},
		{"unknown client", nil, func(*AuthorizationRequest) {}, "invalid_request", ""},
		{"missing client", nil, func(r *AuthorizationRequest) { r.ClientID = "" }, "invalid_request", ""},
		{"repeated client_id", app, func(r *AuthorizationRequest) { r.Repeated = []string{"client_id"} }, "invalid_request", ""},
		{"redirect mismatch", app, func(r *AuthorizationRequest) { r.RedirectURI = "https://evil.example/cb" }, "invalid_request", ""},
		{"redirect prefix", app, func(r *AuthorizationRequest) { r.RedirectURI = "https://app.example/cb/x" }, "invalid_request", ""},
		{"redirect missing, several", app, func(r *AuthorizationRequest) { r.RedirectURI = "" }, "invalid_request", ""},
		{"repeated redirect_uri", app, func(r *AuthorizationRequest) { r.Repeated = []string{"redirect_uri"} }, "invalid_request", ""},
		{"bad client and bad response_type", nil, func(r *AuthorizationRequest) { r.ResponseType = "token" }, "invalid_request", ""},
		{"bad redirect and no challenge", app, func(r *AuthorizationRequest) {
			r.RedirectURI, r.CodeChallenge = "https://evil.example/cb", ""
		}, "invalid_request", ""},
		{"response_type token", app, func(r *AuthorizationRequest) { r.ResponseType = "token" }, "unsupported_response_type", "https://app.example/cb"},
		{"response_type missing", app, func(r *AuthorizationRequest) { r.ResponseType = "" }, "invalid_request", "https://app.example/cb"},
		{"grant not allowed", pw, func(r *AuthorizationRequest) { r.ClientID, r.RedirectURI = "pw", "" }, "unauthorized_client", "https://pw.example/cb"},
		{"no challenge", app, func(r *AuthorizationRequest) { r.CodeChallenge, r.CodeChallengeMethod = "", "" }, "invalid_request", "https://app.example/cb"},
		{"plain", app, func(r *AuthorizationRequest) { r.CodeChallengeMethod = "plain" }, "invalid_request", "https://app.example/cb"},
		{"method missing (plain)", app, func(r *AuthorizationRequest) { r.CodeChallengeMethod = "" }, "invalid_request", "https://app.example/cb"},
		{"challenge too short", app, func(r *AuthorizationRequest) { r.CodeChallenge = "abc" }, "invalid_request", "https://app.example/cb"},
		{"challenge bad chars", app, func(r *AuthorizationRequest) { r.CodeChallenge = testChallenge[:42] + "=" }, "invalid_request", "https://app.example/cb"},
		{"scope not allowed", app, func(r *AuthorizationRequest) { r.Scope = "openid admin" }, "invalid_scope", "https://app.example/cb"},
		{"scope bad char", app, func(r *AuthorizationRequest) { r.Scope = "a\"b" }, "invalid_scope", "https://app.example/cb"},
		{"prompt none", app, func(r *AuthorizationRequest) { r.Prompt = "none" }, "login_required", "https://app.example/cb"},
		{"repeated state", app, func(r *AuthorizationRequest) { r.Repeated = []string{"state"} }, "invalid_request", "https://app.example/cb"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := good()
			tt.edit(&req)
			auth, err := checkAuthorization(tt.client, req)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if auth.CodeChallenge != testChallenge || auth.RedirectURI == "" {
					t.Fatalf("authorization %+v", auth)
				}
				return
			}
			var aerr *AuthorizationError
			if !errors.As(err, &aerr) {
				t.Fatalf("got %v, want an *AuthorizationError", err)
			}
			if aerr.Err.Code != tt.code || aerr.Redirect != tt.redirect {
				t.Fatalf("got %s redirecting to %q, want %s redirecting to %q", aerr.Err.Code, aerr.Redirect, tt.code, tt.redirect)
			}
		})
	}
}

// TestAuthorizationStateLength: a state of 4096 characters is accepted; a
// longer one is refused, and the error still carries it (RFC 6749
// §4.1.2.1), as it does any state but a repeated one.
func TestAuthorizationStateLength(t *testing.T) {
	app := &models.Client{ID: "app", Public: true, Grants: []string{GrantAuthorizationCode}, Scopes: []string{"openid"},
		RedirectURIs: []string{"https://app.example/cb"}}
	req := AuthorizationRequest{ResponseType: "code", ClientID: "app", RedirectURI: "https://app.example/cb",
		State: strings.Repeat("s", maxStateLen), CodeChallenge: testChallenge, CodeChallengeMethod: "S256"}
	if auth, err := checkAuthorization(app, req); err != nil || auth.State != req.State {
		t.Fatalf("a state of %d characters: %v", maxStateLen, err)
	}
	req.State += "s"
	_, err := checkAuthorization(app, req)
	var aerr *AuthorizationError
	if !errors.As(err, &aerr) || aerr.Err.Code != "invalid_request" || aerr.State != req.State {
		t.Fatalf("a state of %d characters: %v, want invalid_request carrying the state", len(req.State), err)
	}
}

func TestAuthorizationErrorLocation(t *testing.T) {
	e := &AuthorizationError{Err: ErrAccessDenied.Describe("no"), Redirect: "https://one.example/cb?x=1", State: "s&t"}
	u, err := url.Parse(e.Location("https://auth.example"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Host != "one.example" || q.Get("x") != "1" || q.Get("error") != "access_denied" || q.Get("error_description") != "no" ||
		q.Get("state") != "s&t" || q.Get("iss") != "https://auth.example" {
		t.Fatalf("location %s", u)
	}
}

func TestVerifierMatches(t *testing.T) {
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 Appendix B
	for _, tt := range []struct {
		verifier string
		want     bool
	}{
		{verifier, true},
		{verifier[:42] + "l", false},
		{"", false},
		{verifier[:42], false},
		{verifier + "\x00", false},
	} {
		if got := verifierMatches(tt.verifier, testChallenge); got != tt.want {
			t.Errorf("verifierMatches(%q) = %v, want %v", tt.verifier, got, tt.want)
		}
	}
}
