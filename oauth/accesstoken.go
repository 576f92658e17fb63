package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// AccessTokenType is the JWT "typ" header of access tokens (RFC 9068 §2.1).
const AccessTokenType = "at+jwt"

// AccessClaims are the claims of an access token (RFC 9068 §2.2, SPEC §3).
type AccessClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	ClientID  string `json:"client_id"`
	Scope     string `json:"scope,omitempty"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
	ID        string `json:"jti"`
	SessionID string `json:"sid,omitempty"`
}

// issue signs an access token and builds the token response around it.
func (s *Tokens) issue(ctx context.Context, sub, clientID, sid string, scope []string, refresh string) (TokenResponse, error) {
	now := s.now()
	claims := AccessClaims{
		Issuer:    s.opts.Issuer,
		Subject:   sub,
		Audience:  s.opts.Audience,
		ClientID:  clientID,
		Scope:     joinScope(scope),
		IssuedAt:  now.Unix(),
		ExpiresAt: now.Add(s.opts.AccessTokenTTL).Unix(),
		ID:        newOpaque(16),
		SessionID: sid,
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("marshal claims: %w", err)
	}
	jwt, err := s.signer.Sign(ctx, AccessTokenType, payload)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("sign access token: %w", err)
	}
	return TokenResponse{
		AccessToken:  jwt,
		TokenType:    "Bearer",
		ExpiresIn:    int64(s.opts.AccessTokenTTL / time.Second),
		RefreshToken: refresh,
		Scope:        claims.Scope,
	}, nil
}
