package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth"
)

// adminUsers serves /admin/v1/users (SPEC §7).
type adminUsers struct{ adminAPI }

// list: GET /admin/v1/users[?limit=N][&after=CURSOR]
func (h *adminUsers) list(c *gin.Context) {
	listPage(&h.adminAPI, c, "users", h.svc.ListUsers)
}

// newUser is the body of POST /admin/v1/users.
type newUser struct {
	Username *string  `json:"username"`
	Password *string  `json:"password"`
	Roles    []string `json:"roles"`
}

// create: POST /admin/v1/users {"username","password","roles"}
func (h *adminUsers) create(c *gin.Context) {
	var req newUser
	if !h.decode(c, &req, false) {
		return
	}
	if req.Username == nil || req.Password == nil {
		h.failed(c, badInput("username and password are required"))
		return
	}
	u, err := h.svc.CreateUser(c.Request.Context(), *req.Username, *req.Password, req.Roles)
	if h.failed(c, err) {
		return
	}
	c.Header("Location", "/admin/v1/users/"+url.PathEscape(u.Username))
	h.answer(c, http.StatusCreated, u, nil)
}

// show: GET /admin/v1/users/{username}
func (h *adminUsers) show(c *gin.Context) {
	u, err := h.svc.GetUser(c.Request.Context(), pathParam(c, "username"))
	h.answer(c, http.StatusOK, u, err)
}

// userPatch is the body of PATCH /admin/v1/users/{username}: each member
// is optional, and null is refused rather than read as absent.
type userPatch struct {
	Password present[string]   `json:"password"`
	Roles    present[[]string] `json:"roles"`
	Disabled present[bool]     `json:"disabled"`
}

// update: PATCH /admin/v1/users/{username} {"password","roles","disabled"}
func (h *adminUsers) update(c *gin.Context) {
	var req userPatch
	if !h.decode(c, &req, false) {
		return
	}
	ch := oauth.UserChange{Password: req.Password.ptr(), Roles: req.Roles.ptr(), Disabled: req.Disabled.ptr()}
	if ch.Password == nil && ch.Roles == nil && ch.Disabled == nil {
		h.failed(c, badInput("nothing to change: give password, roles or disabled"))
		return
	}
	u, err := h.svc.UpdateUser(c.Request.Context(), pathParam(c, "username"), ch)
	h.answer(c, http.StatusOK, u, err)
}

// remove: DELETE /admin/v1/users/{username}
func (h *adminUsers) remove(c *gin.Context) {
	if h.failed(c, h.svc.DeleteUser(c.Request.Context(), pathParam(c, "username"))) {
		return
	}
	noStore(c)
	c.Status(http.StatusNoContent)
}

// present is an optional JSON member that may not be null.
type present[T any] struct {
	set bool
	v   T
}

// UnmarshalJSON reads the member; null is refused.
func (p *present[T]) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return errors.New("a member is null")
	}
	p.set = true
	return json.Unmarshal(b, &p.v)
}

func (p present[T]) ptr() *T {
	if !p.set {
		return nil
	}
	return &p.v
}
