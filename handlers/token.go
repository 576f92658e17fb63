package handlers

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth"
)

// tokenHandler serves POST /oauth2/token (RFC 6749 §3.2).
type tokenHandler struct {
	svc *oauth.Tokens
	log *slog.Logger
}

func (h *tokenHandler) serve(c *gin.Context) {
	req, err := parseTokenRequest(c.Request)
	if err == nil {
		req.RemoteAddr = c.ClientIP()
		var resp oauth.TokenResponse
		if resp, err = h.svc.Token(c.Request.Context(), req); err == nil {
			noStore(c)
			c.JSON(http.StatusOK, resp)
			return
		}
	}
	writeError(c, h.log, err)
}

// parseTokenRequest parses every parameter the grants read, once.
func parseTokenRequest(r *http.Request) (oauth.TokenRequest, error) {
	form, cred, err := clientForm(r)
	if err != nil {
		return oauth.TokenRequest{}, err
	}
	req := oauth.TokenRequest{
		GrantType:    form.Get("grant_type"),
		Client:       cred,
		Username:     form.Get("username"),
		Password:     form.Get("password"),
		RefreshToken: form.Get("refresh_token"),
		ScopeGiven:   form.Has("scope"),
		Code:         form.Get("code"),
		RedirectURI:  form.Get("redirect_uri"),
		CodeVerifier: form.Get("code_verifier"),
	}
	if req.GrantType == "" {
		return oauth.TokenRequest{}, oauth.ErrInvalidRequest.Describe("grant_type is required")
	}
	if req.ScopeGiven {
		if req.Scope, err = oauth.ParseScope(form.Get("scope")); err != nil {
			return oauth.TokenRequest{}, err
		}
	}
	return req, nil
}

func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
}
