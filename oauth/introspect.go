package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/batonhq/baton/models"
)

// Introspection is an RFC 7662 §2.2 response.
type Introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Username  string `json:"username,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	ExpiresAt int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	Subject   string `json:"sub,omitempty"`
	Audience  string `json:"aud,omitempty"`
	Issuer    string `json:"iss,omitempty"`
	ID        string `json:"jti,omitempty"`
	SessionID string `json:"sid,omitempty"`
}

var inactive = Introspection{}

// Introspect implements RFC 7662 for confidential clients. A token is
// active only if it is valid now: for access tokens, signature, expiry and
// (for user tokens) a live session of an enabled user; for refresh tokens,
// the session's current token of a live session. Refresh tokens are
// described only to the client they were issued to.
func (s *Service) Introspect(ctx context.Context, req TokenRequestInfo) (Introspection, error) {
	client, err := s.AuthenticateClient(ctx, req.Client)
	if err != nil {
		return inactive, err
	}
	if client.Public {
		return inactive, ErrInvalidClient.Describe("introspection requires a confidential client")
	}
	if req.Token == "" {
		return inactive, ErrInvalidRequest.Describe("token is required")
	}
	if req.TokenTypeHint == "refresh_token" {
		if in, found, err := s.introspectRefresh(ctx, client, req.Token); found || err != nil {
			return in, err
		}
		return s.introspectAccess(ctx, req.Token)
	}
	in, err := s.introspectAccess(ctx, req.Token)
	if in.Active || err != nil {
		return in, err
	}
	in, _, err = s.introspectRefresh(ctx, client, req.Token)
	return in, err
}

func (s *Service) introspectAccess(ctx context.Context, token string) (Introspection, error) {
	c, err := s.parseAccessToken(token)
	if err != nil {
		var oerr *Error
		if errors.As(err, &oerr) {
			return inactive, nil
		}
		return inactive, err
	}
	now := s.now()
	if now.Unix() >= c.ExpiresAt {
		return inactive, nil
	}
	in := Introspection{Active: true, Scope: c.Scope, ClientID: c.ClientID, TokenType: "Bearer",
		ExpiresAt: c.ExpiresAt, IssuedAt: c.IssuedAt, Subject: c.Subject, Audience: c.Audience,
		Issuer: c.Issuer, ID: c.ID, SessionID: c.SessionID}
	if c.SessionID == "" { // client_credentials: no session, valid until exp unless revoked
		revoked, err := s.store.AccessTokenRevoked(ctx, c.ID)
		switch {
		case err != nil:
			return inactive, fmt.Errorf("check revocation: %w", err)
		case revoked:
			return inactive, nil
		}
		if ok, err := s.clientRegistered(ctx, c); err != nil || !ok {
			return inactive, err
		}
		return in, nil
	}
	sess, user, err := s.store.SessionWithUser(ctx, c.SessionID)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return inactive, nil
	case err != nil:
		return inactive, fmt.Errorf("load session: %w", err)
	case !s.sessionLive(sess, user, now):
		return inactive, nil
	}
	in.Username = user.Username
	if !s.mayHold(user, s.opts.AdminScope) { // the admin role was taken away since
		in.Scope = joinScope(slices.DeleteFunc(strings.Fields(in.Scope), func(sc string) bool { return sc == s.opts.AdminScope }))
	}
	return in, nil
}

// introspectRefresh describes a refresh token; found is false when the
// token is not a refresh token at all.
func (s *Service) introspectRefresh(ctx context.Context, client models.Client, token string) (Introspection, bool, error) {
	st, err := s.store.InspectRefreshToken(ctx, hashToken(token))
	switch {
	case errors.Is(err, models.ErrNotFound):
		return inactive, false, nil
	case err != nil:
		return inactive, false, fmt.Errorf("inspect refresh token: %w", err)
	}
	if st.Session.ClientID != client.ID || !st.Token.Current() || !s.sessionLive(st.Session, st.User, s.now()) {
		return inactive, true, nil
	}
	return Introspection{Active: true, Scope: st.Session.Scope, ClientID: st.Session.ClientID,
		Username: st.User.Username, TokenType: "refresh_token", ExpiresAt: s.sessionExpiry(st.Session).Unix(),
		IssuedAt: st.Token.CreatedAt.Unix(), Subject: st.User.ID, Issuer: s.opts.Issuer, SessionID: st.Session.ID}, true, nil
}
