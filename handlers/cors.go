package handlers

import (
	"bytes"
	"io"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth"
)

// CORS (SPEC §6): a preflight is answered for an origin some client
// registered; a response carries Access-Control-Allow-Origin only when the
// request's Origin is registered with the client that made it. No
// credentials (cookies) are ever allowed cross-origin.

// preflight answers OPTIONS on the token, revoke and userinfo endpoints.
func preflight(svc *oauth.Tokens, methods string) gin.HandlerFunc {
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		c.Header("Vary", "Origin")
		if ok, err := svc.OriginRegistered(c.Request.Context(), origin); err == nil && ok {
			h := c.Writer.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", methods)
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
		}
		c.Status(http.StatusNoContent)
	}
}

// publicPreflight answers OPTIONS on the public documents (discovery and
// JWKS), which any origin may read (SPEC §6): a browser sends it before a
// GET with a header outside the CORS safelist (If-None-Match, say).
func publicPreflight(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD")
	if asked := c.GetHeader("Access-Control-Request-Headers"); asked != "" {
		h.Set("Access-Control-Allow-Headers", asked) // no credentials are allowed: any header is harmless
	}
	h.Set("Access-Control-Max-Age", "86400")
	c.Status(http.StatusNoContent)
}

// allowOrigin lets the request's origin read the response when the client
// registered it.
func allowOrigin(c *gin.Context, svc *oauth.Tokens, clientID string) {
	origin := c.GetHeader("Origin")
	c.Header("Vary", "Origin")
	if svc.ClientAllowsOrigin(c.Request.Context(), clientID, origin) {
		c.Header("Access-Control-Allow-Origin", origin)
	}
}

// corsByClient sets the CORS header of the token and revoke endpoints,
// whose client is named by the Basic header or the client_id of the form.
// Only requests with an Origin (browsers) pay for reading the form here;
// the body is put back for the handler.
func corsByClient(svc *oauth.Tokens) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.GetHeader("Origin") == "" {
			return
		}
		id, _, ok := c.Request.BasicAuth()
		if !ok {
			body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxBodyBytes+1))
			c.Request.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), c.Request.Body))
			if err != nil {
				return
			}
			if form, err := url.ParseQuery(string(body)); err == nil {
				id = form.Get("client_id")
			}
		}
		allowOrigin(c, svc, id)
	}
}
