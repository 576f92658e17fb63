package handlers

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth"
)

// browserCookie binds the login and consent forms to the browser that
// fetched them: the forms carry an HMAC of its value (oauth.CSRFToken).
const browserCookie = "baton_browser"

// authorizeHandler serves the authorization endpoint and baton's login and
// consent pages (RFC 6749 §4.1, SPEC §6). baton keeps no login session in
// the browser: every authorization request asks for the password, so
// prompt=login always holds.
type authorizeHandler struct {
	svc    *oauth.Authorizations
	pages  *pages
	secure bool // cookies only over https (the issuer is https)
	log    *slog.Logger
}

// show serves GET /oauth2/authorize: validate, then the login page.
func (h *authorizeHandler) show(c *gin.Context) {
	req := authorizationRequest(c.Request.URL.Query())
	if _, ok := h.validate(c, req); !ok {
		return
	}
	h.loginPage(c, http.StatusOK, req, h.browser(c), "", "")
}

// login serves POST /oauth2/authorize, the login form's target.
func (h *authorizeHandler) login(c *gin.Context) {
	form, browser, ok := h.formFromBrowser(c)
	if !ok {
		return
	}
	req := authorizationRequest(form)
	auth, ok := h.validate(c, req)
	if !ok {
		return
	}
	username := form.Get("username")
	user, authTime, err := h.svc.Login(c.Request.Context(), username, form.Get("password"), c.ClientIP())
	var oerr *oauth.Error
	switch {
	case errors.Is(err, oauth.ErrThrottled) && errors.As(err, &oerr):
		setRetryAfter(c.Writer.Header(), oerr.RetryAfter)
		h.loginPage(c, http.StatusTooManyRequests, req, browser, username,
			"Too many failed sign-in attempts. Wait a little, then try again.")
		return
	case errors.Is(err, oauth.ErrTemporarilyUnavail) && errors.As(err, &oerr):
		setRetryAfter(c.Writer.Header(), oerr.RetryAfter)
		h.loginPage(c, http.StatusServiceUnavailable, req, browser, username,
			"Too many people are signing in right now. Try again in a few seconds.")
		return
	case errors.Is(err, oauth.ErrInvalidRequest):
		h.loginPage(c, http.StatusBadRequest, req, browser, username, "Enter your username and password.")
		return
	case errors.Is(err, oauth.ErrInvalidGrant):
		h.loginPage(c, http.StatusBadRequest, req, browser, username, "Incorrect username or password.")
		return
	case err != nil:
		h.internal(c, err)
		return
	}
	need, err := h.svc.NeedsConsent(c.Request.Context(), auth, user.ID)
	if err != nil {
		h.internal(c, err)
		return
	}
	if !need {
		h.redirectWithCode(c, auth, user.ID, authTime)
		return
	}
	hidden := append(authHidden(req),
		field{"csrf_token", h.svc.CSRFToken(browser)},
		field{"login_ticket", h.svc.LoginTicket(auth, browser, user.ID, authTime)})
	h.pages.render(c, http.StatusOK, h.pages.consent, auth.RedirectURI, pageData{
		Title: "Allow access", Issuer: h.svc.Issuer(), ClientID: auth.ClientID, Username: user.Username,
		RedirectHost: redirectSource(auth.RedirectURI), Hidden: hidden, Scopes: describeScopes(auth.Scope),
	})
}

// consent serves POST /oauth2/consent, the consent form's target.
func (h *authorizeHandler) consent(c *gin.Context) {
	form, browser, ok := h.formFromBrowser(c)
	if !ok {
		return
	}
	auth, ok := h.validate(c, authorizationRequest(form))
	if !ok {
		return
	}
	userID, authTime, err := h.svc.CheckLoginTicket(form.Get("login_ticket"), auth, browser)
	if err != nil {
		h.pages.fail(c, h.svc.Issuer(), http.StatusBadRequest, "Sign-in expired",
			"Your sign-in is no longer valid. Go back to the application and start again.", "")
		return
	}
	switch form.Get("consent") {
	case "allow":
		if err := h.svc.RememberConsent(c.Request.Context(), auth, userID); err != nil {
			h.internal(c, err)
			return
		}
		h.redirectWithCode(c, auth, userID, authTime)
	case "deny":
		h.log.InfoContext(c.Request.Context(), "consent denied", "client_id", auth.ClientID, "user_id", userID)
		c.Redirect(http.StatusSeeOther, h.svc.DenyLocation(auth))
	default:
		h.pages.fail(c, h.svc.Issuer(), http.StatusBadRequest, "Choose allow or deny", "The form was sent without a choice.", "invalid_request")
	}
}

// validate checks the authorization request; on failure it has answered:
// the error page for an untrusted client or redirect URI, a redirect back
// to the client otherwise.
func (h *authorizeHandler) validate(c *gin.Context, req oauth.AuthorizationRequest) (oauth.Authorization, bool) {
	auth, err := h.svc.ValidateAuthorization(c.Request.Context(), req)
	var aerr *oauth.AuthorizationError
	switch {
	case err == nil:
		return auth, true
	case errors.As(err, &aerr) && aerr.Redirect == "":
		h.pages.fail(c, h.svc.Issuer(), http.StatusBadRequest, "This sign-in link is not valid",
			strings.TrimSuffix(aerr.Err.Description, ".")+".", aerr.Err.Code)
	case errors.As(err, &aerr):
		c.Redirect(http.StatusSeeOther, aerr.Location(h.svc.Issuer()))
	default:
		h.internal(c, err)
	}
	return oauth.Authorization{}, false
}

// formFromBrowser parses a page's form and checks its CSRF token against
// the browser cookie; on failure it has answered with the error page.
func (h *authorizeHandler) formFromBrowser(c *gin.Context) (url.Values, string, bool) {
	form, err := parseForm(c.Request)
	if err != nil {
		h.pages.fail(c, h.svc.Issuer(), http.StatusBadRequest, "Something went wrong", "The form could not be read.", "invalid_request")
		return nil, "", false
	}
	browser, _ := c.Cookie(browserCookie)
	if !h.svc.CheckCSRF(browser, form.Get("csrf_token")) {
		h.pages.fail(c, h.svc.Issuer(), http.StatusForbidden, "Session expired",
			"This form has expired or was not sent by this browser. Go back to the application and sign in again.", "")
		return nil, "", false
	}
	return form, browser, true
}

func (h *authorizeHandler) loginPage(c *gin.Context, status int, req oauth.AuthorizationRequest, browser, username, msg string) {
	hidden := append(authHidden(req), field{"csrf_token", h.svc.CSRFToken(browser)})
	h.pages.render(c, status, h.pages.login, req.RedirectURI, pageData{
		Title: "Sign in", Issuer: h.svc.Issuer(), ClientID: req.ClientID, Message: msg, Username: username, Hidden: hidden,
	})
}

func (h *authorizeHandler) redirectWithCode(c *gin.Context, auth oauth.Authorization, userID string, authTime time.Time) {
	loc, err := h.svc.IssueCode(c.Request.Context(), auth, userID, authTime)
	if err != nil {
		h.internal(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, loc)
}

// browser returns the browser's id cookie, setting a new one if missing.
func (h *authorizeHandler) browser(c *gin.Context) string {
	if v, err := c.Cookie(browserCookie); err == nil && len(v) >= 43 && len(v) <= 64 {
		return v
	}
	v := h.svc.NewBrowserID()
	http.SetCookie(c.Writer, &http.Cookie{Name: browserCookie, Value: v, Path: "/oauth2", HttpOnly: true,
		Secure: h.secure, SameSite: http.SameSiteLaxMode})
	return v
}

func (h *authorizeHandler) internal(c *gin.Context, err error) {
	h.log.ErrorContext(c.Request.Context(), "authorization page failed", "err", err)
	h.pages.fail(c, h.svc.Issuer(), http.StatusInternalServerError, "Something went wrong",
		"baton could not complete the sign-in. Try again in a moment.", "server_error")
}

// mountCodeFlow adds the authorization endpoint, the pages, UserInfo and
// the CORS preflights of the endpoints browsers call (SPEC §6).
func mountCodeFlow(r *gin.Engine, cfg Config) error {
	p, err := loadPages()
	if err != nil {
		return fmt.Errorf("handlers: pages: %w", err)
	}
	h := &authorizeHandler{svc: cfg.Authorizations, pages: p, secure: strings.HasPrefix(cfg.Issuer, "https://"), log: cfg.Log}
	r.GET("/oauth2/authorize", h.show)
	r.POST("/oauth2/authorize", h.login)
	r.POST("/oauth2/consent", h.consent)
	r.GET("/oauth2/static/baton.css", p.serveCSS)
	info := userinfo(cfg.Tokens, cfg.Log)
	r.GET("/oauth2/userinfo", info)
	r.POST("/oauth2/userinfo", info)
	r.OPTIONS("/oauth2/token", preflight(cfg.Tokens, "POST"))
	r.OPTIONS("/oauth2/revoke", preflight(cfg.Tokens, "POST"))
	r.OPTIONS("/oauth2/userinfo", preflight(cfg.Tokens, "GET, POST"))
	return nil
}
