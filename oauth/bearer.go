package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/batonhq/baton/models"
)

// Verifier checks the signature and "typ" of a token baton signed and
// returns its payload. keys.Ring implements it.
type Verifier interface {
	Verify(token, typ string) ([]byte, error)
}

// Bearer-token errors (RFC 6750 §3.1).
var (
	ErrInvalidToken      = &Error{Code: "invalid_token"}
	ErrInsufficientScope = &Error{Code: "insufficient_scope"}
)

// Authorize checks a bearer access token issued by baton and requires the
// given scope: signature, typ, iss, aud and exp; for user tokens that the
// session still lives and, for the admin scope, that the user still holds
// the admin role; for client_credentials tokens that they were not revoked.
// It returns the token's claims.
func (s *Tokens) Authorize(ctx context.Context, token, scope string) (AccessClaims, error) {
	c, err := s.parseAccessToken(token)
	if err != nil {
		return AccessClaims{}, err
	}
	now := s.now().Unix()
	switch {
	case now >= c.ExpiresAt:
		return AccessClaims{}, ErrInvalidToken.Describe("the access token expired")
	case c.IssuedAt > now+60:
		return AccessClaims{}, ErrInvalidToken.Describe("the access token is not valid yet")
	}
	held := slices.Contains(strings.Fields(c.Scope), scope)
	if c.SessionID == "" {
		if err := s.checkNotRevoked(ctx, c.ID); err != nil {
			return AccessClaims{}, err
		}
		switch ok, err := s.clientRegistered(ctx, c); {
		case err != nil:
			return AccessClaims{}, err
		case !ok:
			return AccessClaims{}, ErrInvalidToken.Describe("the client of the access token no longer exists")
		}
	} else {
		user, err := s.checkSessionLive(ctx, c.SessionID)
		if err != nil {
			return AccessClaims{}, err
		}
		held = held && s.mayHold(user, scope)
	}
	if !held {
		return AccessClaims{}, ErrInsufficientScope.Describe("the %s scope is required", scope)
	}
	return c, nil
}

// checkNotRevoked fails for a session-less (client_credentials) access
// token revoked at /oauth2/revoke: one primary-key lookup.
func (s *Tokens) checkNotRevoked(ctx context.Context, jti string) error {
	revoked, err := s.store.AccessTokenRevoked(ctx, jti)
	switch {
	case err != nil:
		return fromStore(err, "check revocation")
	case revoked:
		return ErrInvalidToken.Describe("the access token has been revoked")
	}
	return nil
}

// parseAccessToken verifies an access token's signature and typ, and
// that baton issued it for its audience; expiry is the caller's to check.
func (s *Tokens) parseAccessToken(token string) (AccessClaims, error) {
	if s.verifier == nil {
		return AccessClaims{}, errors.New("oauth: no token verifier configured")
	}
	payload, err := s.verifier.Verify(token, AccessTokenType)
	if err != nil {
		return AccessClaims{}, ErrInvalidToken.With("the access token is invalid", err)
	}
	var c AccessClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return AccessClaims{}, ErrInvalidToken.With("the access token is invalid", err)
	}
	if c.Issuer != s.opts.Issuer || c.Audience != s.opts.Audience {
		return AccessClaims{}, ErrInvalidToken.Describe("the access token was not issued for this server")
	}
	return c, nil
}

// checkSessionLive fails for a session that ended, passed its idle or
// absolute limit, or whose user is disabled: one indexed query. It returns
// the session's user.
func (s *Tokens) checkSessionLive(ctx context.Context, sid string) (models.User, error) {
	sess, user, err := s.store.SessionWithUser(ctx, sid)
	switch {
	case err != nil:
		return models.User{}, fromStore(err, "load session",
			onNotFound(ErrInvalidToken.Describe("the session of the access token does not exist")))
	case !s.sessionLive(sess, user, s.now()):
		return models.User{}, ErrInvalidToken.Describe("the session of the access token has ended")
	}
	return user, nil
}

// clientRegistered reports whether the client of a session-less
// (client_credentials) access token still exists, and existed when the
// token was issued (a client deleted and registered again under the same
// id does not revive the old one's tokens). The client cache serves it.
func (s *Tokens) clientRegistered(ctx context.Context, c AccessClaims) (bool, error) {
	cl, err := s.clients.get(ctx, c.ClientID, s.now())
	if err != nil {
		return false, fromStore(err, "load client", onNotFound(nil))
	}
	return c.IssuedAt >= cl.CreatedAt.Unix()-issuedAtLeeway, nil
}

// issuedAtLeeway allows for clocks of instances that differ: a token
// issued by one a little behind the one that created the client is its.
const issuedAtLeeway = 60
