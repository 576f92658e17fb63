package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth"
	"github.com/batonhq/baton/oauth/resource"
)

// KeyRotator rotates the signing key on demand.
type KeyRotator interface {
	Rotate(ctx context.Context) error
	ActiveKeyID() string
}

// adminAPI is what each resource of the admin API (SPEC §7) serves with:
// the service, the log, and the endpoint that words its not_found.
type adminAPI struct {
	svc *oauth.Admin
	log *slog.Logger
	at  endpoint
}

// collection is a resource of the admin API: a list of items, and one
// item by its key.
type collection interface {
	list(c *gin.Context)   // GET the list
	create(c *gin.Context) // POST to the list
	show(c *gin.Context)   // GET an item
	update(c *gin.Context) // PATCH an item
	remove(c *gin.Context) // DELETE an item
}

// mountCollection adds a collection's routes to the admin group: the list
// at path, an item at item (path and the key's parameter).
func mountCollection(admin gin.IRouter, path, item string, h collection) {
	admin.GET(path, h.list)
	admin.POST(path, h.create)
	admin.GET(item, h.show)
	admin.PATCH(item, h.update)
	admin.DELETE(item, h.remove)
}

// failed writes err, if any, as the resource's error answer.
func (a *adminAPI) failed(c *gin.Context, err error) bool {
	return a.at.failed(c, a.log, err)
}

// decode reads the request's JSON body into dst (readAdminJSON); false,
// with the error answered, when it is refused.
func (a *adminAPI) decode(c *gin.Context, dst any, mayBeEmpty bool) bool {
	return !a.failed(c, readAdminJSON(c.Request, dst, mayBeEmpty))
}

// answer writes v with status, never cached; or err when there is one.
func (a *adminAPI) answer(c *gin.Context, status int, v any, err error) {
	if a.failed(c, err) {
		return
	}
	noStore(c)
	c.JSON(status, v)
}

// Page sizes of the admin API's lists.
const (
	defaultPage = 50
	maxPage     = 500
)

// pageLimit is the limit parameter of a list, given (v) or not: 1 to
// maxPage, defaultPage when not given; given empty, it is not a number.
func pageLimit(v string, given bool) (int, error) {
	if !given {
		return defaultPage, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPage {
		return 0, badInput(fmt.Sprintf("limit must be 1 to %d", maxPage))
	}
	return n, nil
}

// listPage answers a list: the page of up to limit items (the limit
// parameter) that read finds after the request's cursor (the after
// parameter), under name, with the cursor of the next page ("" after the
// last).
func listPage[T any](a *adminAPI, c *gin.Context, name string,
	read func(ctx context.Context, after string, limit int) ([]T, string, error)) {
	limit, err := pageLimit(c.GetQuery("limit"))
	if a.failed(c, err) {
		return
	}
	page, next, err := read(c.Request.Context(), c.Query("after"), limit)
	a.answer(c, http.StatusOK, gin.H{name: page, "next": next}, err)
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

// pathParam is the path parameter name, percent-decoded once. The engine
// routes on the path as sent when it holds an escape that the decoded path
// would not give back (a "%2F"), and then leaves the parameters escaped;
// otherwise it routes on the decoded path (newEngine).
func pathParam(c *gin.Context, name string) string {
	v := c.Param(name)
	if c.Request.URL.RawPath == "" {
		return v
	}
	if s, err := url.PathUnescape(v); err == nil {
		return s
	}
	return v
}
