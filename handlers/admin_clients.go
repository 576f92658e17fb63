package handlers

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth"
)

// adminClients serves /admin/v1/clients (SPEC §7).
type adminClients struct {
	svc *oauth.Admin
	log *slog.Logger
}

// clientsEndpoint describes the clients API's not_found.
var clientsEndpoint = endpoint{missing: "no such client"}

// mountAdminClients adds the client routes to the admin group.
func mountAdminClients(admin *gin.RouterGroup, svc *oauth.Admin, log *slog.Logger) {
	h := &adminClients{svc: svc, log: log}
	admin.GET("/clients", h.list)
	admin.POST("/clients", h.create)
	admin.GET("/clients/:id", h.show)
	admin.PATCH("/clients/:id", h.update)
	admin.DELETE("/clients/:id", h.remove)
	admin.POST("/clients/:id/secret", h.rotate)
}

// clientCreateRequest is the body of POST /admin/v1/clients (RFC 7591 names).
type clientCreateRequest struct {
	ClientID       string   `json:"client_id"`
	GrantTypes     []string `json:"grant_types"`
	Scope          string   `json:"scope"`
	RedirectURIs   []string `json:"redirect_uris"`
	AllowedOrigins []string `json:"allowed_origins"`
	Trusted        bool     `json:"trusted"`
	Public         bool     `json:"public"`
}

// clientPatchRequest is the body of PATCH /admin/v1/clients/{id}: the
// fields present replace the stored ones.
type clientPatchRequest struct {
	GrantTypes     *[]string `json:"grant_types"`
	Scope          *string   `json:"scope"`
	RedirectURIs   *[]string `json:"redirect_uris"`
	AllowedOrigins *[]string `json:"allowed_origins"`
	Trusted        *bool     `json:"trusted"`
}

// clientWithSecret is the answer that created a client or rotated its
// secret: the only one that ever carries the secret.
type clientWithSecret struct {
	oauth.ClientInfo
	ClientSecret string `json:"client_secret,omitempty"`
}

// list: GET /admin/v1/clients[?limit=N][&after=ID]
func (h *adminClients) list(c *gin.Context) {
	v := c.Query("limit")
	limit, err := pageLimit(v, v != "")
	if h.failed(c, err) {
		return
	}
	page, next, err := h.svc.ListClients(c.Request.Context(), c.Query("after"), limit)
	if h.failed(c, err) {
		return
	}
	writePage(c, "clients", page, next)
}

// show: GET /admin/v1/clients/{id}
func (h *adminClients) show(c *gin.Context) {
	info, err := h.svc.ClientByID(c.Request.Context(), c.Param("id"))
	if h.failed(c, err) {
		return
	}
	noStore(c)
	c.JSON(http.StatusOK, info)
}

// create: POST /admin/v1/clients; a confidential client's secret is
// generated and returned once.
func (h *adminClients) create(c *gin.Context) {
	var req clientCreateRequest
	if err := readAdminJSON(c.Request, &req, false); err != nil {
		h.failed(c, err)
		return
	}
	info, secret, err := h.svc.CreateClient(c.Request.Context(), oauth.ClientSpec{ID: req.ClientID, Public: req.Public,
		Grants: req.GrantTypes, Scopes: strings.Fields(req.Scope), RedirectURIs: req.RedirectURIs,
		AllowedOrigins: req.AllowedOrigins, Trusted: req.Trusted})
	if h.failed(c, err) {
		return
	}
	noStore(c)
	c.Header("Location", "/admin/v1/clients/"+url.PathEscape(info.ClientID))
	c.JSON(http.StatusCreated, clientWithSecret{ClientInfo: info, ClientSecret: secret})
}

// update: PATCH /admin/v1/clients/{id}
func (h *adminClients) update(c *gin.Context) {
	var req clientPatchRequest
	if err := readAdminJSON(c.Request, &req, false); err != nil {
		h.failed(c, err)
		return
	}
	ch := oauth.ClientChange{Grants: req.GrantTypes, RedirectURIs: req.RedirectURIs,
		AllowedOrigins: req.AllowedOrigins, Trusted: req.Trusted}
	if req.Scope != nil {
		scopes := strings.Fields(*req.Scope)
		ch.Scopes = &scopes
	}
	info, err := h.svc.UpdateClient(c.Request.Context(), c.Param("id"), ch)
	if h.failed(c, err) {
		return
	}
	noStore(c)
	c.JSON(http.StatusOK, info)
}

// remove: DELETE /admin/v1/clients/{id}; ends the client's sessions.
func (h *adminClients) remove(c *gin.Context) {
	n, err := h.svc.DeleteClient(c.Request.Context(), c.Param("id"))
	if h.failed(c, err) {
		return
	}
	noStore(c)
	c.JSON(http.StatusOK, gin.H{"client_id": c.Param("id"), "sessions_ended": n})
}

// rotate: POST /admin/v1/clients/{id}/secret; the new secret is generated
// and returned once. The body, if any, must be an empty object.
func (h *adminClients) rotate(c *gin.Context) {
	if err := readAdminJSON(c.Request, &struct{}{}, true); err != nil {
		h.failed(c, err)
		return
	}
	ctx := c.Request.Context()
	secret, err := h.svc.RotateClientSecret(ctx, c.Param("id"), "")
	if h.failed(c, err) {
		return
	}
	info, err := h.svc.ClientByID(ctx, c.Param("id"))
	if h.failed(c, err) {
		return
	}
	noStore(c)
	c.JSON(http.StatusOK, clientWithSecret{ClientInfo: info, ClientSecret: secret})
}

// failed writes the error of a client administration call, if any.
func (h *adminClients) failed(c *gin.Context, err error) bool {
	return clientsEndpoint.failed(c, h.log, err)
}
