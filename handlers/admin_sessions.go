package handlers

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/oauth"
)

// Page sizes of GET /admin/v1/sessions.
const (
	defaultPage = 50
	maxPage     = 500
)

// pageLimit is the limit parameter of a list, given (v) or not: 1 to
// maxPage, defaultPage when not given.
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

// writePage answers a list: one page of items under name, and the cursor
// of the next page ("" after the last).
func writePage(c *gin.Context, name string, page any, next string) {
	noStore(c)
	c.JSON(http.StatusOK, gin.H{name: page, "next": next})
}

// adminSessions serves /admin/v1/sessions (SPEC §2 admin API).
type adminSessions struct {
	svc *oauth.Admin
	log *slog.Logger
}

// sessionsEndpoint describes the sessions API's not_found.
var sessionsEndpoint = endpoint{missing: "no such user or session"}

// list: GET /admin/v1/sessions?username=U[&limit=N][&after=ID]
func (h *adminSessions) list(c *gin.Context) {
	username, ok := h.username(c)
	if !ok {
		return
	}
	v := c.Query("limit")
	limit, err := pageLimit(v, v != "")
	if h.failed(c, err) {
		return
	}
	page, next, err := h.svc.ListSessions(c.Request.Context(), username, c.Query("after"), limit)
	if h.failed(c, err) {
		return
	}
	writePage(c, "sessions", page, next)
}

// revokeOne: DELETE /admin/v1/sessions/{id}
func (h *adminSessions) revokeOne(c *gin.Context) {
	ended, err := h.svc.EndSession(c.Request.Context(), c.Param("id"), models.EndAdmin)
	if h.failed(c, err) {
		return
	}
	noStore(c)
	c.JSON(http.StatusOK, gin.H{"revoked": ended})
}

// revokeAll: DELETE /admin/v1/sessions?username=U ("log out everywhere")
func (h *adminSessions) revokeAll(c *gin.Context) {
	username, ok := h.username(c)
	if !ok {
		return
	}
	n, err := h.svc.EndUserSessions(c.Request.Context(), username, models.EndAdmin)
	if h.failed(c, err) {
		return
	}
	noStore(c)
	c.JSON(http.StatusOK, gin.H{"revoked": n})
}

func (h *adminSessions) username(c *gin.Context) (string, bool) {
	u := c.Query("username")
	if u == "" {
		h.failed(c, badInput("the username parameter is required"))
	}
	return u, u != ""
}

// plainParams refuses, with 400 invalid_request, query and path parameters
// that are not valid UTF-8 or hold a control character: they are user
// names and session ids on their way to the database.
func plainParams(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := checkParams(c); err != nil {
			writeError(c, log, err)
			return
		}
		c.Next()
	}
}

func checkParams(c *gin.Context) error {
	for k, vs := range c.Request.URL.Query() {
		if !plainText(k, true) {
			return badInput("a parameter name is not valid UTF-8 or contains a control character")
		}
		for _, v := range vs {
			if err := checkText(k, v); err != nil {
				return err
			}
		}
	}
	for _, p := range c.Params {
		if err := checkText(p.Key, p.Value); err != nil {
			return err
		}
	}
	return nil
}

// failed writes the error of an admin call, if any.
func (h *adminSessions) failed(c *gin.Context, err error) bool {
	return sessionsEndpoint.failed(c, h.log, err)
}
