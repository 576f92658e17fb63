package oauth

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/batonhq/baton/models"
)

// Authorization request errors of RFC 6749 §4.1.2.1 beyond those of §5.2,
// and OIDC Core §3.1.2.6.
var (
	ErrAccessDenied            = &Error{Code: "access_denied"}
	ErrUnsupportedResponseType = &Error{Code: "unsupported_response_type"}
	ErrLoginRequired           = &Error{Code: "login_required"}
)

// Limits on authorization request values (the form and the query carry them).
const (
	maxStateLen = 4096 // clients pack signed data into state; a URL keeps well under 8 KiB
	maxNonceLen = 512
)

// AuthorizationRequest is a parsed request to the authorization endpoint
// (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1). Repeated lists the
// parameters that appeared more than once.
type AuthorizationRequest struct {
	ResponseType        string
	ClientID            string
	RedirectURI         string
	Scope               string
	ScopeGiven          bool
	State               string
	CodeChallenge       string
	CodeChallengeMethod string
	Nonce               string
	Prompt              string
	Repeated            []string
}

// Authorization is a valid authorization request, ready for the login.
type Authorization struct {
	ClientID string
	Trusted  bool // first-party client: no consent screen
	// RedirectURI is where the browser goes back to; RedirectGiven says
	// whether the request named it, in which case the token request must
	// name it again (RFC 6749 §4.1.3).
	RedirectURI   string
	RedirectGiven bool
	Scope         []string
	State         string
	CodeChallenge string
	Nonce         string
	ForceLogin    bool // prompt=login
	ForceConsent  bool // prompt=consent
}

// AuthorizationError is a refused authorization request. With Redirect
// empty the client or its redirect URI could not be trusted: the browser
// must be shown an error page and never redirected (RFC 6749 §4.1.2.1, no
// open redirector). Otherwise the error goes back to the client at
// Redirect (Location gives the URL).
type AuthorizationError struct {
	Err      *Error
	Redirect string
	State    string
}

func (e *AuthorizationError) Error() string { return e.Err.Error() }
func (e *AuthorizationError) Unwrap() error { return e.Err }

// Location is the redirect carrying the error, state and iss (RFC 9207).
func (e *AuthorizationError) Location(issuer string) string {
	q := url.Values{"error": {e.Err.Code}, "iss": {issuer}}
	if e.Err.Description != "" {
		q.Set("error_description", e.Err.Description)
	}
	if e.State != "" {
		q.Set("state", e.State)
	}
	return withQuery(e.Redirect, q)
}

// withQuery appends parameters to a URI that may already have a query.
func withQuery(uri string, q url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + q.Encode()
}

// ValidateAuthorization checks an authorization request against the
// registered client. Failures are *AuthorizationError values, except
// internal ones.
func (s *Authorizations) ValidateAuthorization(ctx context.Context, req AuthorizationRequest) (Authorization, error) {
	var client *models.Client
	if req.ClientID != "" && !slices.Contains(req.Repeated, "client_id") {
		c, err := s.clients.get(ctx, req.ClientID, s.now())
		if err == nil {
			client = &c
		} else if err := fromStore(err, "load client", onNotFound(nil)); err != nil {
			return Authorization{}, err
		}
	}
	auth, err := checkAuthorization(client, req)
	if err == nil && !req.ScopeGiven {
		// An omitted scope never grants the admin scope (SPEC §7).
		auth.Scope, _ = s.userScope(nil, false, auth.Scope)
	}
	return auth, err
}

// checkAuthorization validates a request in the order RFC 6749 §4.1.2.1
// demands: first the client and the redirect URI, whose failures are shown
// to the user and never redirected; then everything else, whose failures
// are redirected to the client. client is nil when unknown.
func checkAuthorization(client *models.Client, req AuthorizationRequest) (Authorization, error) {
	page := func(format string, args ...any) (Authorization, error) {
		return Authorization{}, &AuthorizationError{Err: ErrInvalidRequest.Describe(format, args...)}
	}
	switch {
	case slices.Contains(req.Repeated, "client_id"):
		return page("client_id is repeated")
	case req.ClientID == "":
		return page("client_id is missing")
	case client == nil:
		return page("the client is not registered")
	case slices.Contains(req.Repeated, "redirect_uri"):
		return page("redirect_uri is repeated")
	}
	redirect := req.RedirectURI
	switch {
	case redirect == "" && len(client.RedirectURIs) == 1:
		redirect = client.RedirectURIs[0]
	case redirect == "" && len(client.RedirectURIs) == 0:
		return page("the client has no registered redirect URI")
	case redirect == "":
		return page("redirect_uri is required: the client has several")
	case !matchRedirectURI(client.RedirectURIs, redirect):
		return page("redirect_uri does not match a registered redirect URI")
	}
	// From here on the redirect URI is trusted: errors go back to the client.
	// RFC 6749 §4.1.2.1: the error carries the request's state, even one
	// refused as too long (it came in a URL of that size), so that the
	// client can match the answer to its request; a repeated one is not
	// the request's, and is not echoed.
	state := req.State
	if slices.Contains(req.Repeated, "state") {
		state = ""
	}
	fail := func(e *Error) (Authorization, error) {
		return Authorization{}, &AuthorizationError{Err: e, Redirect: redirect, State: state}
	}
	auth := Authorization{ClientID: client.ID, Trusted: client.Trusted, RedirectURI: redirect,
		RedirectGiven: req.RedirectURI != "", State: state, CodeChallenge: req.CodeChallenge, Nonce: req.Nonce}
	if len(req.Repeated) > 0 {
		return fail(ErrInvalidRequest.Describe("parameter %q is repeated", req.Repeated[0]))
	}
	switch {
	case req.ResponseType == "":
		return fail(ErrInvalidRequest.Describe("response_type is missing"))
	case req.ResponseType != "code":
		return fail(ErrUnsupportedResponseType.Describe("response_type must be code"))
	case !slices.Contains(client.Grants, GrantAuthorizationCode):
		return fail(ErrUnauthorizedClient.Describe("client may not use the authorization_code grant"))
	case len(req.State) > maxStateLen:
		return fail(ErrInvalidRequest.Describe("state is longer than %d characters", maxStateLen))
	case len(req.Nonce) > maxNonceLen:
		return fail(ErrInvalidRequest.Describe("nonce is longer than %d characters", maxNonceLen))
	}
	if err := checkChallenge(req.CodeChallenge, req.CodeChallengeMethod); err != nil {
		return fail(err)
	}
	requested, err := ParseScope(req.Scope)
	if err != nil {
		return fail(ErrInvalidScope.Describe("scope contains a character RFC 6749 §3.3 does not allow"))
	}
	if auth.Scope, err = narrowScope(requested, req.ScopeGiven, client.Scopes); err != nil {
		var oerr *Error
		errors.As(err, &oerr)
		return fail(oerr)
	}
	for _, p := range strings.Fields(req.Prompt) {
		switch p {
		case "none":
			// baton keeps no browser session: it cannot authenticate silently.
			return fail(ErrLoginRequired.Describe("the user must log in"))
		case "login":
			auth.ForceLogin = true
		case "consent":
			auth.ForceConsent = true
		}
	}
	return auth, nil
}

// checkChallenge requires a PKCE S256 challenge (RFC 7636 §4.2, RFC 9700
// §2.1.1): the base64url encoding, unpadded, of a SHA-256 digest.
func checkChallenge(challenge, method string) *Error {
	switch {
	case challenge == "":
		return ErrInvalidRequest.Describe("code_challenge is required (PKCE, S256)")
	case method != "S256":
		return ErrInvalidRequest.Describe("code_challenge_method must be S256")
	case len(challenge) != 43 || !base64URLChars(challenge):
		return ErrInvalidRequest.Describe("code_challenge must be the unpadded base64url SHA-256 of the verifier")
	}
	return nil
}

func base64URLChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
