package handlers

import (
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/batonhq/baton/oauth"
)

// Request limits of the OAuth endpoints.
const (
	maxBodyBytes  = 64 << 10 // SPEC §2: bodies over 64 KiB are refused
	maxParameters = 32       // far more than any grant needs
	maxValueBytes = 4 << 10  // the longest legitimate value is a 1 KiB password
)

// parseForm reads an application/x-www-form-urlencoded body (RFC 6749 §3.2)
// and refuses bodies over 64 KiB and repeated or overlong parameters; it
// drops the parameters no endpoint reads, unchecked.
func parseForm(r *http.Request) (url.Values, error) {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/x-www-form-urlencoded" {
		return nil, oauth.ErrInvalidRequest.Describe("content type must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errTooLarge
		}
		return nil, oauth.ErrInvalidRequest.With("request body could not be read", err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, oauth.ErrInvalidRequest.Describe("request body is not valid form encoding")
	}
	if len(form) > maxParameters {
		return nil, oauth.ErrInvalidRequest.Describe("too many parameters")
	}
	for k, v := range form {
		if !parameters[k] {
			delete(form, k) // RFC 6749 §3.1, §3.2: unrecognized parameters are ignored
			continue
		}
		if len(v) > 1 {
			return nil, oauth.ErrInvalidRequest.Describe("parameter %q is repeated", truncate(k, 64))
		}
		if len(k) > 64 || len(v[0]) > maxValueBytes {
			return nil, oauth.ErrInvalidRequest.Describe("parameter %q is too long", truncate(k, 64))
		}
		if !plainText(k, false) {
			return nil, oauth.ErrInvalidRequest.Describe("a parameter name is not valid UTF-8 or contains a control character")
		}
		if err := checkText(k, v[0]); err != nil {
			return nil, err
		}
	}
	return form, nil
}

// parameters are the form parameters the endpoints read: the token,
// revocation and introspection endpoints', and the login and consent
// forms', which carry the authorization request's; parseForm drops any
// other.
var parameters = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range append([]string{"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token",
		"scope", "username", "password", "client_id", "client_secret", "token", "token_type_hint",
		"csrf_token", "login_ticket", "consent"}, authorizationParameters...) {
		m[k] = true
	}
	return m
}()

// identifiers are the parameters that name something (a client, a user, a
// grant, a token type): no control character makes sense in them (user and
// client names have none, oauth.checkName).
var identifiers = map[string]bool{
	"client_id": true, "username": true, "grant_type": true, "token_type_hint": true,
	"after": true, "id": true, // the admin API's session ids
}

// checkText refuses a value that is not valid UTF-8 (RFC 6749 Appendix B:
// parameters are UTF-8) or holds a NUL, which no database text column
// stores; in an identifier, any control character. The description names
// the parameter and never echoes the value.
func checkText(name, value string) *oauth.Error {
	switch {
	case !utf8.ValidString(value):
		return oauth.ErrInvalidRequest.Describe("parameter %q is not valid UTF-8", name)
	case !plainText(value, identifiers[name]):
		return oauth.ErrInvalidRequest.Describe("parameter %q contains a NUL or control character", name)
	}
	return nil
}

// plainText reports whether s is valid UTF-8 without NUL and, when
// noControls is set, without any control character.
func plainText(s string, noControls bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == 0 || noControls && unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// clientForm parses the form of a request that authenticates its client
// (the token, revocation and introspection endpoints) and extracts the
// client's credentials from it.
func clientForm(r *http.Request) (url.Values, oauth.ClientCredentials, error) {
	form, err := parseForm(r)
	if err != nil {
		return nil, oauth.ClientCredentials{}, err
	}
	cred, err := clientCredentials(r, form)
	if err != nil {
		return nil, oauth.ClientCredentials{}, err
	}
	return form, cred, nil
}

// clientCredentials extracts client authentication from the request
// (RFC 6749 §2.3.1): HTTP Basic, or client_id and client_secret in the body,
// or client_id alone for public clients. Using two methods is an error.
func clientCredentials(r *http.Request, form url.Values) (oauth.ClientCredentials, error) {
	id, secret := form.Get("client_id"), form.Get("client_secret")
	authz := r.Header.Get("Authorization")
	if authz == "" {
		switch {
		case secret != "":
			return oauth.ClientCredentials{ID: id, Secret: secret, Method: oauth.AuthPost}, nil
		case form.Has("client_secret"):
			return oauth.ClientCredentials{}, oauth.ErrInvalidRequest.Describe("client_secret is empty")
		default:
			return oauth.ClientCredentials{ID: id, Method: oauth.AuthNone}, nil
		}
	}
	if form.Has("client_secret") {
		return oauth.ClientCredentials{}, oauth.ErrInvalidRequest.Describe("use one client authentication method, not two")
	}
	basicID, basicSecret, err := parseBasic(authz)
	if err != nil {
		return oauth.ClientCredentials{}, err
	}
	if id != "" && id != basicID {
		return oauth.ClientCredentials{}, oauth.ErrInvalidRequest.Describe("client_id does not match the Authorization header")
	}
	return oauth.ClientCredentials{ID: basicID, Secret: basicSecret, Method: oauth.AuthBasic}, nil
}

// parseBasic decodes "Basic base64(urlencode(id):urlencode(secret))".
func parseBasic(header string) (id, secret string, err error) {
	bad := oauth.ErrInvalidClient.Describe("malformed Basic authorization header")
	scheme, cred, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", oauth.ErrInvalidClient.Describe("unsupported authorization scheme")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", bad
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", bad
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", bad
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", bad
	}
	if id == "" || secret == "" {
		return "", "", bad
	}
	if err := checkText("client_id", id); err != nil {
		return "", "", err
	}
	if err := checkText("client_secret", secret); err != nil {
		return "", "", err
	}
	return id, secret, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
