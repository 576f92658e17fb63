// Package ginresource adapts resource.Verifier to Gin.
package ginresource

import (
	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth/resource"
)

// Middleware requires a valid access token with every one of scopes. The
// claims are available to handlers through Claims(c) and through
// resource.ClaimsFrom(c.Request.Context()).
func Middleware(v *resource.Verifier, scopes ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		claims, fail := v.Authorize(c.Request, scopes...)
		if fail != nil {
			fail.Write(c.Writer)
			c.Abort()
			return
		}
		c.Request = c.Request.WithContext(resource.WithClaims(c.Request.Context(), claims))
		c.Next()
	}
}

// Claims returns the verified claims of the request.
func Claims(c *gin.Context) (*resource.Claims, bool) {
	return resource.ClaimsFrom(c.Request.Context())
}
