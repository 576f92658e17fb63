package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/keys"
	"github.com/batonhq/baton/oauth"
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
	return func(c *gin.Context) {
		token, ok := bearerToken(c.GetHeader("Authorization"))
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="baton"`)
			adminError(c, http.StatusUnauthorized, "unauthorized", "a bearer access token is required")
			return
		}
		claims, err := svc.Authorize(c.Request.Context(), token, scope)
		var oerr *oauth.Error
		switch {
		case errors.As(err, &oerr) && oerr.Code == oauth.ErrInsufficientScope.Code:
			c.Header("WWW-Authenticate", `Bearer realm="baton", error="insufficient_scope", scope="`+scope+`"`)
			adminError(c, http.StatusForbidden, oerr.Code, oerr.Description)
			return
		case errors.As(err, &oerr):
			c.Header("WWW-Authenticate", `Bearer realm="baton", error="invalid_token", error_description="`+oerr.Description+`"`)
			adminError(c, http.StatusUnauthorized, oerr.Code, oerr.Description)
			return
		case err != nil:
			writeError(c, log, err)
			return
		}
		c.Set(claimsKey, claims)
		c.Next()
	}
}

// bearerToken extracts the token of "Authorization: Bearer <token>".
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// adminError writes the JSON error of the admin API.
func adminError(c *gin.Context, status int, code, desc string) {
	noStore(c)
	c.AbortWithStatusJSON(status, errorBody{Error: code, Description: desc})
}

// rotateKeys serves POST /admin/v1/keys/rotate.
func rotateKeys(rot KeyRotator, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		err := rot.Rotate(c.Request.Context())
		if errors.Is(err, keys.ErrTooEarly) {
			adminError(c, http.StatusConflict, "conflict", err.Error())
			return
		}
		if err != nil {
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
