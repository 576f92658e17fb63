package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/batonhq/baton/models"
)

// ScopeOpenID asks for OpenID Connect: an id_token and the UserInfo endpoint.
const ScopeOpenID = "openid"

// IDTokenType is the "typ" header of ID tokens.
const IDTokenType = "JWT"

// IDClaims are the claims of an ID token (OIDC Core §2, SPEC §6).
type IDClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	ExpiresAt int64  `json:"exp"`
	IssuedAt  int64  `json:"iat"`
	AuthTime  int64  `json:"auth_time"`
	Nonce     string `json:"nonce,omitempty"`
	SessionID string `json:"sid"`
}

// issueWithID issues the tokens of a session, with an ID token when
// openid was granted. nonce is the authorization request's (empty on
// refresh: OIDC Core §12.2).
func (s *Tokens) issueWithID(ctx context.Context, sess models.Session, scope []string, refresh, nonce string) (TokenResponse, error) {
	resp, err := s.issue(ctx, sess.UserID, sess.ClientID, sess.ID, scope, refresh)
	if err != nil || !slices.Contains(scope, ScopeOpenID) {
		return resp, err
	}
	authTime := sess.AuthTime
	if authTime.IsZero() {
		authTime = sess.CreatedAt
	}
	now := s.now()
	payload, err := json.Marshal(IDClaims{
		Issuer: s.opts.Issuer, Subject: sess.UserID, Audience: sess.ClientID,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(s.opts.AccessTokenTTL).Unix(),
		AuthTime: authTime.Unix(), Nonce: nonce, SessionID: sess.ID,
	})
	if err != nil {
		return TokenResponse{}, fmt.Errorf("marshal id token: %w", err)
	}
	if resp.IDToken, err = s.signer.Sign(ctx, IDTokenType, payload); err != nil {
		return TokenResponse{}, fmt.Errorf("sign id token: %w", err)
	}
	return resp, nil
}

// issueRefreshed issues the tokens of a refresh; a session granted openid
// gets a fresh ID token with the original auth_time (OIDC Core §12.2).
func (s *Tokens) issueRefreshed(ctx context.Context, sess models.Session, clientID string, scope []string, refresh string) (TokenResponse, error) {
	if !slices.Contains(scope, ScopeOpenID) {
		return s.issue(ctx, sess.UserID, clientID, sess.ID, scope, refresh)
	}
	full, err := s.store.Session(ctx, sess.ID) // the one-step rotation reads no auth_time
	if err != nil {
		return TokenResponse{}, fromStore(err, "load session")
	}
	return s.issueWithID(ctx, full, scope, refresh, "")
}

// UserInfo is the OIDC UserInfo response (OIDC Core §5.3.2).
type UserInfo struct {
	Subject           string `json:"sub"`
	PreferredUsername string `json:"preferred_username"`
	ClientID          string `json:"-"` // the token's client, for CORS
}

// UserInfo answers for a bearer access token that holds openid.
func (s *Tokens) UserInfo(ctx context.Context, token string) (UserInfo, error) {
	claims, err := s.Authorize(ctx, token, ScopeOpenID)
	if err != nil {
		return UserInfo{}, err
	}
	if claims.SessionID == "" {
		return UserInfo{}, ErrInvalidToken.Describe("the access token has no user")
	}
	u, err := s.store.UserByID(ctx, claims.Subject)
	if err != nil {
		return UserInfo{}, fromStore(err, "load user", onNotFound(ErrInvalidToken.Describe("the user of the access token does not exist")))
	}
	return UserInfo{Subject: u.ID, PreferredUsername: u.Username, ClientID: claims.ClientID}, nil
}

// ScopesSupported lists what discovery advertises: openid plus the scopes
// of OIDC baton answers for.
func ScopesSupported() []string { return []string{ScopeOpenID} }

// ClaimsSupported lists the claims of ID tokens and UserInfo.
func ClaimsSupported() []string {
	return strings.Fields("iss sub aud exp iat auth_time nonce sid preferred_username")
}
