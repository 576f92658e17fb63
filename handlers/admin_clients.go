package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth"
)

// adminClients serves /admin/v1/clients (SPEC §7).
type adminClients struct{ adminAPI }

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
	listPage(&h.adminAPI, c, "clients", h.svc.ListClients)
}

// show: GET /admin/v1/clients/{id}
func (h *adminClients) show(c *gin.Context) {
	info, err := h.svc.ClientByID(c.Request.Context(), pathParam(c, "id"))
	h.answer(c, http.StatusOK, info, err)
}

// create: POST /admin/v1/clients (RFC 7591 names); a confidential client's
// secret is generated and returned once.
func (h *adminClients) create(c *gin.Context) {
	var req oauth.ClientMetadata
	if !h.decode(c, &req, false) {
		return
	}
	info, secret, err := h.svc.CreateClient(c.Request.Context(), req)
	if h.failed(c, err) {
		return
	}
	c.Header("Location", "/admin/v1/clients/"+url.PathEscape(info.ClientID))
	h.answer(c, http.StatusCreated, clientWithSecret{ClientInfo: info, ClientSecret: secret}, nil)
}

// update: PATCH /admin/v1/clients/{id}
func (h *adminClients) update(c *gin.Context) {
	var req clientPatchRequest
	if !h.decode(c, &req, false) {
		return
	}
	ch := oauth.ClientChange{Grants: req.GrantTypes, RedirectURIs: req.RedirectURIs,
		AllowedOrigins: req.AllowedOrigins, Trusted: req.Trusted}
	if req.Scope != nil {
		scopes := strings.Fields(*req.Scope)
		ch.Scopes = &scopes
	}
	info, err := h.svc.UpdateClient(c.Request.Context(), pathParam(c, "id"), ch)
	h.answer(c, http.StatusOK, info, err)
}

// remove: DELETE /admin/v1/clients/{id}; ends the client's sessions.
func (h *adminClients) remove(c *gin.Context) {
	n, err := h.svc.DeleteClient(c.Request.Context(), pathParam(c, "id"))
	h.answer(c, http.StatusOK, gin.H{"client_id": pathParam(c, "id"), "sessions_ended": n}, err)
}

// rotate: POST /admin/v1/clients/{id}/secret; the new secret is generated
// and returned once. The body, if any, must be an empty object.
func (h *adminClients) rotate(c *gin.Context) {
	if !h.decode(c, &struct{}{}, true) {
		return
	}
	ctx := c.Request.Context()
	secret, err := h.svc.RotateClientSecret(ctx, pathParam(c, "id"), "")
	if h.failed(c, err) {
		return
	}
	info, err := h.svc.ClientByID(ctx, pathParam(c, "id"))
	h.answer(c, http.StatusOK, clientWithSecret{ClientInfo: info, ClientSecret: secret}, err)
}
