package oauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/batonhq/baton/models"
)

// TokenRequestInfo is a token presented to the revocation or introspection
// endpoint (RFC 7009 §2.1, RFC 7662 §2.1).
type TokenRequestInfo struct {
	Client        ClientCredentials
	Token         string
	TokenTypeHint string // "refresh_token", "access_token" or empty
}

// Revoke implements RFC 7009: a refresh token ends its whole session, and
// so does an access token of a session. Unknown, invalid or already revoked
// tokens succeed silently; a client may revoke only its own tokens.
func (s *Service) Revoke(ctx context.Context, req TokenRequestInfo) error {
	client, err := s.AuthenticateClient(ctx, req.Client)
	if err != nil {
		return err
	}
	if req.Token == "" {
		return ErrInvalidRequest.Describe("token is required")
	}
	sid, owner, err := s.sessionOfToken(ctx, req.Token, req.TokenTypeHint)
	if err != nil || sid == "" {
		return err
	}
	if owner != client.ID {
		return ErrUnauthorizedClient.Describe("the token was issued to another client")
	}
	_, err = s.EndSession(ctx, sid, models.EndLogout)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// sessionOfToken finds the session and client of a refresh or access token,
// trying the hinted type first. An unknown token gives "" and no error.
func (s *Service) sessionOfToken(ctx context.Context, token, hint string) (sid, clientID string, err error) {
	asRefresh := func() (string, string, error) {
		st, err := s.store.InspectRefreshToken(ctx, hashToken(token))
		switch {
		case errors.Is(err, models.ErrNotFound):
			return "", "", nil
		case err != nil:
			return "", "", fmt.Errorf("inspect refresh token: %w", err)
		}
		return st.Session.ID, st.Session.ClientID, nil
	}
	asAccess := func() (string, string, error) {
		c, err := s.parseAccessToken(token)
		if err != nil {
			var oerr *Error
			if errors.As(err, &oerr) {
				return "", "", nil // not a token of ours
			}
			return "", "", err
		}
		return c.SessionID, c.ClientID, nil
	}
	first, second := asRefresh, asAccess
	if hint == "access_token" {
		first, second = asAccess, asRefresh
	}
	if sid, clientID, err = first(); err != nil || sid != "" || clientID != "" {
		return sid, clientID, err
	}
	return second()
}
