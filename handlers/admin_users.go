package handlers

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth"
)

// adminUsers serves /admin/v1/users (SPEC §7).
type adminUsers struct {
	svc *oauth.Admin
	log *slog.Logger
}

// usersEndpoint describes the users API's not_found.
var usersEndpoint = endpoint{missing: "no such user"}

// mountAdminUsers adds the users API to the admin group.
func mountAdminUsers(admin *gin.RouterGroup, svc *oauth.Admin, log *slog.Logger) {
	h := &adminUsers{svc: svc, log: log}
	admin.GET("/users", h.list)
	admin.POST("/users", h.create)
	admin.GET("/users/:username", h.get)
	admin.PATCH("/users/:username", h.update)
	admin.DELETE("/users/:username", h.delete)
}

// list: GET /admin/v1/users[?limit=N][&after=CURSOR]
func (h *adminUsers) list(c *gin.Context) {
	limit, err := pageLimit(c.GetQuery("limit"))
	if h.failed(c, err) {
		return
	}
	page, next, err := h.svc.ListUsers(c.Request.Context(), c.Query("after"), limit)
	if h.failed(c, err) {
		return
	}
	writePage(c, "users", page, next)
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
	if err := readAdminJSON(c.Request, &req, false); err != nil {
		h.failed(c, err)
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
	noStore(c)
	c.Header("Location", "/admin/v1/users/"+u.Username)
	c.JSON(http.StatusCreated, u)
}

// get: GET /admin/v1/users/{username}
func (h *adminUsers) get(c *gin.Context) {
	u, err := h.svc.GetUser(c.Request.Context(), c.Param("username"))
	if h.failed(c, err) {
		return
	}
	noStore(c)
	c.JSON(http.StatusOK, u)
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
	if err := readAdminJSON(c.Request, &req, false); err != nil {
		h.failed(c, err)
		return
	}
	ch := oauth.UserChange{Password: req.Password.ptr(), Roles: req.Roles.ptr(), Disabled: req.Disabled.ptr()}
	if ch.Password == nil && ch.Roles == nil && ch.Disabled == nil {
		h.failed(c, badInput("nothing to change: give password, roles or disabled"))
		return
	}
	u, err := h.svc.UpdateUser(c.Request.Context(), c.Param("username"), ch)
	if h.failed(c, err) {
		return
	}
	noStore(c)
	c.JSON(http.StatusOK, u)
}

// delete: DELETE /admin/v1/users/{username}
func (h *adminUsers) delete(c *gin.Context) {
	if h.failed(c, h.svc.DeleteUser(c.Request.Context(), c.Param("username"))) {
		return
	}
	noStore(c)
	c.Status(http.StatusNoContent)
}

// failed writes the error of a users API call, if any.
func (h *adminUsers) failed(c *gin.Context, err error) bool {
	return usersEndpoint.failed(c, h.log, err)
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
