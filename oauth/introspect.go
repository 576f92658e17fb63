package oauth

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

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
func (s *Tokens) Introspect(ctx context.Context, req TokenRequestInfo) (Introspection, error) {
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

func (s *Tokens) introspectAccess(ctx context.Context, token string) (Introspection, error) {
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
			return inactive, fromStore(err, "check revocation")
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
	case err != nil:
		return inactive, fromStore(err, "load session", onNotFound(nil))
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
func (s *Tokens) introspectRefresh(ctx context.Context, client models.Client, token string) (Introspection, bool, error) {
	r, err := s.lookupRefresh(ctx, token)
	if err != nil || !r.found {
		return inactive, false, err
	}
	if r.sess.ClientID != client.ID || !r.current || !s.sessionLive(r.sess, r.user, s.now()) {
		return inactive, true, nil
	}
	return Introspection{Active: true, Scope: r.sess.Scope, ClientID: r.sess.ClientID,
		Username: r.user.Username, TokenType: "refresh_token", ExpiresAt: s.sessionExpiry(r.sess).Unix(),
		IssuedAt: r.issuedAt.Unix(), Subject: r.user.ID, Issuer: s.opts.Issuer, SessionID: r.sess.ID}, true, nil
}

// foundRefresh is what introspection and revocation learn of a refresh token.
type foundRefresh struct {
	found    bool // a genuine refresh token of a stored session
	current  bool // the session's current one
	issuedAt time.Time
	sess     models.Session
	user     models.User
}

// lookupRefresh authenticates a refresh token (its MAC, then its session's
// nonce) or, for a legacy token, finds it by hash. Anything else is not
// found, with no error.
func (s *Tokens) lookupRefresh(ctx context.Context, token string) (foundRefresh, error) {
	if tok, ok := s.refreshKey.parse(token); ok {
		sess, user, err := s.store.SessionWithUser(ctx, tok.sid)
		switch {
		case err != nil:
			return foundRefresh{}, fromStore(err, "load session", onNotFound(nil))
		case sess.RefreshCheck == nil || !bytes.Equal(refreshCheck(tok.nonce), sess.RefreshCheck) || tok.gen > sess.RefreshGen:
			return foundRefresh{}, nil
		}
		issued := sess.CreatedAt
		if tok.gen > 1 && !sess.RotatedAt.IsZero() {
			issued = sess.RotatedAt
		}
		return foundRefresh{found: true, current: tok.gen == sess.RefreshGen, issuedAt: issued, sess: sess, user: user}, nil
	}
	if !isLegacyToken(token) {
		return foundRefresh{}, nil
	}
	st, err := s.store.InspectRefreshToken(ctx, hashToken(token))
	if err != nil {
		return foundRefresh{}, fromStore(err, "inspect refresh token", onNotFound(nil))
	}
	return foundRefresh{found: true, current: st.Legacy.Current(), issuedAt: st.Legacy.CreatedAt, sess: st.Session, user: st.User}, nil
}
