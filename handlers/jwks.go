package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// KeySet is the source of the published JWKS: precomputed bytes and their
// strong ETag, replaced whenever the keys change.
type KeySet interface {
	JWKS() (body []byte, etag string)
}

// jwksHandler serves GET /.well-known/jwks.json (RFC 7517) from memory:
// every resource server fetches it, so it writes precomputed bytes and
// header values (all but the ETag's one-element slice).
type jwksHandler struct {
	keys         KeySet
	cacheControl []string
}

var (
	jwksContentType = []string{"application/jwk-set+json"}
	anyOrigin       = []string{"*"}
)

func newJWKSHandler(keys KeySet, maxAge time.Duration) *jwksHandler {
	return &jwksHandler{keys: keys, cacheControl: []string{fmt.Sprintf("public, max-age=%d", int(maxAge/time.Second))}}
}

func (h *jwksHandler) serve(c *gin.Context) {
	body, etag := h.keys.JWKS()
	// Canonical keys set directly: the values are shared, never modified.
	hdr := c.Writer.Header()
	hdr["Cache-Control"] = h.cacheControl
	hdr["Access-Control-Allow-Origin"] = anyOrigin // public keys (SPEC §6 CORS)
	hdr["Etag"] = []string{etag}
	if etagMatches(c.Request.Header.Get("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		return
	}
	hdr["Content-Type"] = jwksContentType
	c.Status(http.StatusOK)
	_, _ = c.Writer.Write(body)
}

// etagMatches implements the weak comparison of If-None-Match (RFC 9110 §13.1.2).
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == want {
			return true
		}
	}
	return false
}
