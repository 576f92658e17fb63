package handlers

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/oauth"
)

// adminSessions serves /admin/v1/sessions (SPEC §2 admin API).
type adminSessions struct{ adminAPI }

// list: GET /admin/v1/sessions?username=U[&limit=N][&after=ID]
func (h *adminSessions) list(c *gin.Context) {
	username, ok := h.username(c)
	if !ok {
		return
	}
	listPage(&h.adminAPI, c, "sessions", func(ctx context.Context, after string, limit int) ([]oauth.SessionInfo, string, error) {
		return h.svc.ListSessions(ctx, username, after, limit)
	})
}

// revokeOne: DELETE /admin/v1/sessions/{id}
func (h *adminSessions) revokeOne(c *gin.Context) {
	ended, err := h.svc.EndSession(c.Request.Context(), pathParam(c, "id"), models.EndAdmin)
	h.answer(c, http.StatusOK, gin.H{"revoked": ended}, err)
}

// revokeAll: DELETE /admin/v1/sessions?username=U ("log out everywhere")
func (h *adminSessions) revokeAll(c *gin.Context) {
	username, ok := h.username(c)
	if !ok {
		return
	}
	n, err := h.svc.EndUserSessions(c.Request.Context(), username, models.EndAdmin)
	h.answer(c, http.StatusOK, gin.H{"revoked": n}, err)
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
