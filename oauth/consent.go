package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton/models"
)

// Lifetimes of the authorization code flow (SPEC §6).
const (
	codeTTL   = 60 * time.Second // an authorization code
	ticketTTL = 10 * time.Minute // a login awaiting the user's consent
)

// Issuer is the iss of tokens and of authorization responses (RFC 9207).
func (s *Authorizations) Issuer() string { return s.opts.Issuer }

// Login checks the credentials typed into baton's login page: the same
// check, throttle and hashing budget as the password grant. Wrong
// credentials give ErrInvalidGrant (one generic message), a throttled
// username or address ErrSlowDown with RetryAfter.
// It returns the user and the time of the login (OIDC auth_time).
func (s *Authorizations) Login(ctx context.Context, username, password, remoteAddr string) (models.User, time.Time, error) {
	if username == "" || password == "" {
		return models.User{}, time.Time{}, ErrInvalidRequest.Describe("enter your username and password")
	}
	if len(username) > maxNameLen || len(password) > maxPasswordLen {
		return models.User{}, time.Time{}, ErrInvalidGrant.Describe("invalid username or password")
	}
	u, err := s.login(ctx, username, password, remoteAddr)
	return u, s.now(), err
}

// NeedsConsent reports whether the user must approve the request: not for
// a trusted client, nor when the user already consented to every requested
// scope for this client, unless prompt=consent.
func (s *Authorizations) NeedsConsent(ctx context.Context, auth Authorization, userID string) (bool, error) {
	if auth.Trusted {
		return false, nil
	}
	if auth.ForceConsent {
		return true, nil
	}
	granted, err := s.store.Consent(ctx, userID, auth.ClientID)
	if err != nil {
		return false, fromStore(err, "read consent")
	}
	for _, sc := range auth.Scope {
		if !slices.Contains(granted, sc) {
			return true, nil
		}
	}
	return false, nil
}

// RememberConsent records the user's approval of the request's scopes.
func (s *Authorizations) RememberConsent(ctx context.Context, auth Authorization, userID string) error {
	if err := s.store.AddConsent(ctx, userID, auth.ClientID, auth.Scope, s.now()); err != nil {
		return fromStore(err, "save consent")
	}
	return nil
}

// DenyLocation is the redirect telling the client the user said no.
func (s *Authorizations) DenyLocation(auth Authorization) string {
	e := &AuthorizationError{Err: ErrAccessDenied.Describe("the user denied the request"), Redirect: auth.RedirectURI, State: auth.State}
	return e.Location(s.opts.Issuer)
}

// IssueCode stores a new authorization code for the user and returns the
// redirect that carries it, with state and iss (RFC 6749 §4.1.2, RFC 9207).
func (s *Authorizations) IssueCode(ctx context.Context, auth Authorization, userID string, authTime time.Time) (string, error) {
	now := s.now()
	code := newOpaque(tokenBytes)
	given := ""
	if auth.RedirectGiven {
		given = auth.RedirectURI
	}
	err := s.store.CreateAuthorizationCode(ctx, models.AuthorizationCode{
		Hash: hashToken(code), ClientID: auth.ClientID, UserID: userID, RedirectURI: given,
		CodeChallenge: auth.CodeChallenge, Scope: joinScope(auth.Scope), Nonce: auth.Nonce,
		AuthTime: authTime, CreatedAt: now, ExpiresAt: now.Add(codeTTL),
	})
	if err != nil {
		return "", fromStore(err, "store authorization code")
	}
	s.log.InfoContext(ctx, "authorization code issued", "client_id", auth.ClientID, "user_id", userID)
	q := map[string][]string{"code": {code}, "iss": {s.opts.Issuer}}
	if auth.State != "" {
		q["state"] = []string{auth.State}
	}
	return withQuery(auth.RedirectURI, q), nil
}

// Browser binding of the pages (CSRF). A browser gets a random id in a
// cookie; the forms carry HMAC(key, id), which a page of another origin can
// neither read nor compute (double-submit cookie, bound by an HMAC so that
// a cookie planted by a sibling subdomain is useless without its token).
// The key is Options.PageKey, shared by every instance.

// NewBrowserID returns a fresh value for the browser cookie.
func (s *Authorizations) NewBrowserID() string { return newOpaque(tokenBytes) }

// CSRFToken is the form token that goes with a browser id.
func (s *Authorizations) CSRFToken(browser string) string {
	return base64.RawURLEncoding.EncodeToString(s.pageMAC("csrf", []byte(browser)))
}

// CheckCSRF reports whether a form's token belongs to the browser's cookie.
func (s *Authorizations) CheckCSRF(browser, token string) bool {
	if browser == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(s.CSRFToken(browser)), []byte(token))
}

func (s *Authorizations) pageMAC(purpose string, parts ...[]byte) []byte {
	h := hmac.New(sha256.New, s.pageKey)
	h.Write([]byte("baton page " + purpose))
	for _, p := range parts {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	return h.Sum(nil)
}

// ticket is what a login ticket asserts.
type ticket struct {
	UserID   string `json:"u"`
	AuthTime int64  `json:"t"` // microseconds
	Expires  int64  `json:"e"` // unix seconds
}

// LoginTicket proves, in the consent form, that the user logged in for
// this request in this browser: signed over the request and the browser
// id, valid ticketTTL. The server keeps no state between the two pages.
func (s *Authorizations) LoginTicket(auth Authorization, browser, userID string, authTime time.Time) string {
	payload, _ := json.Marshal(ticket{UserID: userID, AuthTime: authTime.UnixMicro(), Expires: s.now().Add(ticketTTL).Unix()})
	mac := s.pageMAC("ticket", payload, authDigest(auth), []byte(browser))
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(mac)
}

// CheckLoginTicket verifies a login ticket for the request and browser and
// returns the user and the time of the login.
func (s *Authorizations) CheckLoginTicket(tk string, auth Authorization, browser string) (string, time.Time, error) {
	bad := ErrAccessDenied.Describe("the login has expired; log in again")
	p64, m64, ok := strings.Cut(tk, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.DecodeString(m64)
	if !ok || err1 != nil || err2 != nil || browser == "" ||
		!hmac.Equal(mac, s.pageMAC("ticket", payload, authDigest(auth), []byte(browser))) {
		return "", time.Time{}, bad
	}
	var t ticket
	if err := json.Unmarshal(payload, &t); err != nil || s.now().Unix() >= t.Expires || t.UserID == "" {
		return "", time.Time{}, bad
	}
	return t.UserID, time.UnixMicro(t.AuthTime).UTC(), nil
}

// authDigest covers every field of a request the ticket must not outlive.
func authDigest(a Authorization) []byte {
	b, _ := json.Marshal([]any{a.ClientID, a.RedirectURI, a.RedirectGiven, a.Scope, a.State, a.CodeChallenge, a.Nonce})
	sum := sha256.Sum256(b)
	return sum[:]
}
