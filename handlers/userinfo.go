package handlers

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth"
	"github.com/batonhq/baton/oauth/resource"
)

// userinfo serves GET and POST /oauth2/userinfo (OIDC Core §5.3) for a
// Bearer access token (RFC 6750 §2.1) that holds openid.
func userinfo(svc *oauth.Tokens, log *slog.Logger) gin.HandlerFunc {
	at := endpoint{scope: oauth.ScopeOpenID}
	return func(c *gin.Context) {
		token, ok := resource.BearerToken(c.GetHeader("Authorization"))
		if !ok {
			at.writeError(c, log, errNoToken)
			return
		}
		info, err := svc.UserInfo(c.Request.Context(), token)
		if err != nil {
			at.writeError(c, log, err)
			return
		}
		allowOrigin(c, svc, info.ClientID)
		noStore(c)
		c.JSON(http.StatusOK, info)
	}
}
