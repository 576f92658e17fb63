package oauth

import (
	"context"
	"errors"
	"time"

	"github.com/batonhq/baton/models"
)

// TokenRequestInfo is a token presented to the revocation or introspection
// endpoint (RFC 7009 §2.1, RFC 7662 §2.1).
type TokenRequestInfo struct {
	Client        ClientCredentials
	Token         string
	TokenTypeHint string // "refresh_token", "access_token" or empty
}

// presentedToken is what revocation learns of a token: its session (user
// tokens), the client it was issued to, and for access tokens without a
// session (client_credentials) its jti and expiry.
type presentedToken struct {
	sid, clientID string
	jti           string
	exp           time.Time
}

// Revoke implements RFC 7009: a refresh token ends its whole session, and
// so does an access token of a session; a client_credentials access token
// is remembered as revoked until it expires (SPEC §7). Unknown, invalid,
// expired or already revoked tokens succeed silently; a client may revoke
// only its own tokens.
func (s *Tokens) Revoke(ctx context.Context, req TokenRequestInfo) error {
	client, err := s.AuthenticateClient(ctx, req.Client)
	if err != nil {
		return err
	}
	if req.Token == "" {
		return ErrInvalidRequest.Describe("token is required")
	}
	tok, err := s.inspectToken(ctx, req.Token, req.TokenTypeHint)
	if err != nil || tok.clientID == "" {
		return err
	}
	if tok.clientID != client.ID {
		return ErrUnauthorizedClient.Describe("the token was issued to another client")
	}
	if tok.sid == "" {
		return s.revokeAccessToken(ctx, tok)
	}
	_, err = s.endSession(ctx, s.store, tok.sid, models.EndLogout)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// revokeAccessToken stores the jti of a session-less access token until
// its exp; an expired one is refused anyway and needs no row.
func (s *Tokens) revokeAccessToken(ctx context.Context, tok presentedToken) error {
	if tok.jti == "" || !s.now().Before(tok.exp) {
		return nil
	}
	if err := s.store.RevokeAccessToken(ctx, tok.jti, tok.exp); err != nil {
		return fromStore(err, "revoke access token")
	}
	s.log.InfoContext(ctx, "access token revoked", "client_id", tok.clientID, "jti", tok.jti)
	return nil
}

// inspectToken finds what revocation needs of a refresh or access token,
// trying the hinted type first. An unknown token gives the zero value and
// no error.
func (s *Tokens) inspectToken(ctx context.Context, token, hint string) (presentedToken, error) {
	asRefresh := func() (presentedToken, error) {
		r, err := s.lookupRefresh(ctx, token)
		if err != nil || !r.found {
			return presentedToken{}, err
		}
		return presentedToken{sid: r.sess.ID, clientID: r.sess.ClientID}, nil
	}
	asAccess := func() (presentedToken, error) {
		c, err := s.parseAccessToken(token)
		if err != nil {
			var oerr *Error
			if errors.As(err, &oerr) {
				return presentedToken{}, nil // not a token of ours
			}
			return presentedToken{}, err
		}
		return presentedToken{sid: c.SessionID, clientID: c.ClientID, jti: c.ID, exp: time.Unix(c.ExpiresAt, 0)}, nil
	}
	first, second := asRefresh, asAccess
	if hint == "access_token" {
		first, second = asAccess, asRefresh
	}
	if tok, err := first(); err != nil || tok.clientID != "" {
		return tok, err
	}
	return second()
}
