package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/batonhq/baton/models"
)

// Grant types of the token endpoint.
const (
	GrantPassword          = "password"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantAuthorizationCode = "authorization_code"
)

// SupportedGrants lists the grant types baton implements.
func SupportedGrants() []string {
	return []string{GrantAuthorizationCode, GrantPassword, GrantRefreshToken, GrantClientCredentials}
}

// Client authentication methods (RFC 7591 §2 names).
const (
	AuthBasic = "client_secret_basic"
	AuthPost  = "client_secret_post"
	AuthNone  = "none"
)

// ClientCredentials is how the caller identified itself.
type ClientCredentials struct {
	ID     string
	Secret string
	Method string // AuthBasic, AuthPost or AuthNone
	Addr   string // the client's address, for throttling wrong secrets
}

// TokenRequest is a parsed token-endpoint request (RFC 6749 §4.3, §4.4, §6).
type TokenRequest struct {
	GrantType    string
	Client       ClientCredentials
	Username     string
	Password     string
	RefreshToken string
	Scope        []string
	ScopeGiven   bool   // the request carried a scope parameter
	RemoteAddr   string // the client's address, for login throttling
	// authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.5)
	Code         string
	RedirectURI  string
	CodeVerifier string
}

// TokenResponse is a successful token response (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	IDToken      string `json:"id_token,omitempty"` // OIDC Core §3.1.3.3, with openid
}

// Token runs one grant of the token endpoint. Failures are *Error values
// except for internal ones, which the caller answers as server_error.
func (s *Tokens) Token(ctx context.Context, req TokenRequest) (TokenResponse, error) {
	if !slices.Contains(SupportedGrants(), req.GrantType) {
		return TokenResponse{}, ErrUnsupportedGrantType.Describe("grant_type must be one of %s", strings.Join(SupportedGrants(), ", "))
	}
	if req.Client.Addr == "" {
		req.Client.Addr = req.RemoteAddr
	}
	client, err := s.AuthenticateClient(ctx, req.Client)
	if err != nil {
		s.refused(req.GrantType, err)
		return TokenResponse{}, err
	}
	if !slices.Contains(client.Grants, req.GrantType) {
		err := ErrUnauthorizedClient.Describe("client may not use the %s grant", req.GrantType)
		s.refused(req.GrantType, err)
		return TokenResponse{}, err
	}
	var resp TokenResponse
	switch req.GrantType {
	case GrantPassword:
		resp, err = s.passwordGrant(ctx, client, req)
	case GrantRefreshToken:
		resp, err = s.refreshGrant(ctx, client, req)
	case GrantAuthorizationCode:
		resp, err = s.authorizationCodeGrant(ctx, client, req)
	default:
		resp, err = s.clientCredentialsGrant(ctx, client, req)
	}
	if err == nil {
		s.opts.Metrics.TokenIssued(req.GrantType)
		s.log.InfoContext(ctx, "token issued", "grant_type", req.GrantType, "client_id", client.ID)
	} else {
		s.refused(req.GrantType, err)
	}
	return resp, err
}

// refused counts a failed token request by its OAuth error code.
func (s *Tokens) refused(grant string, err error) {
	code := ErrServerError.Code
	var oerr *Error
	if errors.As(err, &oerr) {
		code = oerr.Code
	}
	s.opts.Metrics.TokenRefused(grant, code)
}

// AuthenticateClient checks the client's credentials (RFC 6749 §2.3):
// confidential clients with their secret, public clients with "none".
// Every failure answers the same invalid_client, so that the answer does not
// tell unknown, public and confidential clients apart. An unknown client
// costs no hash: client ids are not secrets (RFC 6749 §2.2), and a flood of
// made-up ids must not reach the hasher; wrong secrets of a known client
// are verified with argon2id, throttled per address (secretOK).
func (s *Tokens) AuthenticateClient(ctx context.Context, cred ClientCredentials) (models.Client, error) {
	fail := ErrInvalidClient.Describe("client authentication failed")
	if cred.ID == "" {
		return models.Client{}, ErrInvalidClient.Describe("client authentication is required")
	}
	client, err := s.clients.get(ctx, cred.ID, s.now())
	if err != nil {
		return models.Client{}, fromStore(err, "load client", onNotFound(fail))
	}
	if client.Public {
		if cred.Method != AuthNone {
			return models.Client{}, fail // a public client must not send a secret
		}
		return client, nil
	}
	if cred.Method == AuthNone {
		return models.Client{}, fail // a confidential client must authenticate
	}
	ok, err := s.clients.secretOK(ctx, client, cred.Secret, cred.Addr)
	if err != nil {
		return models.Client{}, fmt.Errorf("verify client secret: %w", err)
	}
	if !ok {
		return models.Client{}, fail
	}
	return client, nil
}
