package handlers

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth"
)

// parseTokenInfo parses the body shared by /oauth2/revoke and
// /oauth2/introspect: client authentication, token and token_type_hint.
func parseTokenInfo(r *http.Request) (oauth.TokenRequestInfo, error) {
	form, cred, err := clientForm(r)
	if err != nil {
		return oauth.TokenRequestInfo{}, err
	}
	return oauth.TokenRequestInfo{Client: cred, Token: form.Get("token"), TokenTypeHint: form.Get("token_type_hint")}, nil
}

// revoke serves POST /oauth2/revoke (RFC 7009).
func revoke(svc *oauth.Tokens, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, err := parseTokenInfo(c.Request)
		if err == nil {
			req.Client.Addr = c.ClientIP()
			if err = svc.Revoke(c.Request.Context(), req); err == nil {
				noStore(c)
				c.Status(http.StatusOK)
				return
			}
		}
		writeError(c, log, err)
	}
}

// introspect serves POST /oauth2/introspect (RFC 7662).
func introspect(svc *oauth.Tokens, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, err := parseTokenInfo(c.Request)
		if err == nil {
			req.Client.Addr = c.ClientIP()
			var resp oauth.Introspection
			if resp, err = svc.Introspect(c.Request.Context(), req); err == nil {
				noStore(c)
				c.JSON(http.StatusOK, resp)
				return
			}
		}
		writeError(c, log, err)
	}
}
