package oauth

import (
	"context"

	"github.com/batonhq/baton/models"
)

// clientCredentialsGrant is RFC 6749 §4.4: a confidential client acting on
// its own behalf. It issues no refresh token (§4.4.3) and starts no session.
func (s *Tokens) clientCredentialsGrant(ctx context.Context, client models.Client, req TokenRequest) (TokenResponse, error) {
	if client.Public {
		return TokenResponse{}, ErrUnauthorizedClient.Describe("public clients may not use client_credentials")
	}
	scope, err := narrowScope(req.Scope, req.ScopeGiven, client.Scopes)
	if err != nil {
		return TokenResponse{}, err
	}
	return s.issue(ctx, client.ID, client.ID, "", scope, "")
}
