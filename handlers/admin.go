package handlers

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth"
	"github.com/batonhq/baton/oauth/resource"
)

// KeyRotator rotates the signing key on demand.
type KeyRotator interface {
	Rotate(ctx context.Context) error
	ActiveKeyID() string
}

// claimsKey is where requireScope leaves the caller's claims.
const claimsKey = "baton.claims"

// requireScope admits requests bearing a baton access token with the scope
// (RFC 6750): 401 without a valid token, 403 without the scope.
func requireScope(svc *oauth.Tokens, scope string, log *slog.Logger) gin.HandlerFunc {
	at := endpoint{scope: scope}
	return func(c *gin.Context) {
		claims, err := authorizeBearer(c, svc, scope)
		if err != nil {
			at.writeError(c, log, err)
			return
		}
		c.Set(claimsKey, claims)
		c.Next()
	}
}

// authorizeBearer checks the request's bearer token (RFC 6750 §2.1) for
// the scope; errNoToken when there is none.
func authorizeBearer(c *gin.Context, svc *oauth.Tokens, scope string) (oauth.AccessClaims, error) {
	token, ok := resource.BearerToken(c.GetHeader("Authorization"))
	if !ok {
		return oauth.AccessClaims{}, errNoToken
	}
	return svc.Authorize(c.Request.Context(), token, scope)
}

// rotateKeys serves POST /admin/v1/keys/rotate.
func rotateKeys(rot KeyRotator, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := rot.Rotate(c.Request.Context()); err != nil {
			writeError(c, log, err)
			return
		}
		claims, _ := c.Get(claimsKey)
		log.InfoContext(c.Request.Context(), "signing key rotated on admin request",
			"active_kid", rot.ActiveKeyID(), "by", claims.(oauth.AccessClaims).Subject)
		noStore(c)
		c.JSON(http.StatusOK, gin.H{"active_kid": rot.ActiveKeyID()})
	}
}
