package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth"
)

// userinfo serves GET and POST /oauth2/userinfo (OIDC Core §5.3) for a
// Bearer access token (RFC 6750 §2.1) that holds openid.
func userinfo(svc *oauth.Tokens, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		scheme, token, ok := strings.Cut(c.GetHeader("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			c.Header("WWW-Authenticate", `Bearer realm="baton"`)
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "invalid_token", "error_description": "a Bearer access token is required"})
			return
		}
		info, err := svc.UserInfo(c.Request.Context(), strings.TrimSpace(token))
		var oerr *oauth.Error
		switch {
		case err == nil:
			allowOrigin(c, svc, info.ClientID)
			noStore(c)
			c.JSON(http.StatusOK, info)
		case errors.Is(err, oauth.ErrInsufficientScope) && errors.As(err, &oerr):
			c.Header("WWW-Authenticate", `Bearer realm="baton", error="insufficient_scope", scope="openid"`)
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": oerr.Code, "error_description": oerr.Description})
		case errors.As(err, &oerr):
			c.Header("WWW-Authenticate", `Bearer realm="baton", error="invalid_token", error_description="`+oerr.Description+`"`)
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "invalid_token", "error_description": oerr.Description})
		default:
			writeError(c, log, err)
		}
	}
}
