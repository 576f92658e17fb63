package handlers

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth"
)

//go:embed pages
var pageFS embed.FS

// pages are the server-rendered login, consent and error pages (SPEC §6):
// one layout, one stylesheet, no script.
type pages struct {
	login, consent, failure *template.Template
	css                     []byte
}

func loadPages() (*pages, error) {
	parse := func(name string) (*template.Template, error) {
		return template.ParseFS(pageFS, "pages/layout.html", "pages/"+name)
	}
	p := &pages{}
	var err error
	if p.login, err = parse("login.html"); err != nil {
		return nil, err
	}
	if p.consent, err = parse("consent.html"); err != nil {
		return nil, err
	}
	if p.failure, err = parse("error.html"); err != nil {
		return nil, err
	}
	if p.css, err = pageFS.ReadFile("pages/baton.css"); err != nil {
		return nil, err
	}
	return p, nil
}

// field is a hidden form field.
type field struct{ Name, Value string }

// pageData is what every page template reads.
type pageData struct {
	Title, Issuer, ClientID, Message, Code string
	Username, RedirectHost                 string
	Hidden                                 []field
	Scopes                                 []scopeWords
}

type scopeWords struct{ Name, Description string }

// scopeDescriptions says in words what a scope lets the client do.
var scopeDescriptions = map[string]string{
	"openid":         "Confirm who you are (your user id)",
	"profile":        "See your username",
	"offline_access": "Stay signed in when you are away",
	"read":           "Read your data",
	"write":          "Change your data",
	"admin":          "Administer baton on your behalf",
}

func describeScopes(scope []string) []scopeWords {
	out := make([]scopeWords, len(scope))
	for i, s := range scope {
		d, ok := scopeDescriptions[s]
		if !ok {
			d = "Use the “" + s + "” permission"
		}
		out[i] = scopeWords{Name: s, Description: d}
	}
	return out
}

// render writes a page with the headers every page carries: no caching,
// no framing, no referrer, and a CSP that allows the stylesheet and form
// posts to baton itself, plus the redirect's origin, since a browser
// applies form-action to the redirect that answers the form.
func (p *pages) render(c *gin.Context, status int, t *template.Template, redirect string, data pageData) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		c.String(http.StatusInternalServerError, "page could not be rendered")
		return
	}
	formAction := "'self'"
	if src := redirectSource(redirect); src != "" {
		formAction += " " + src
	}
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action "+formAction+
		"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// redirectSource is the CSP source of a redirect URI: its origin, or its
// scheme for a native app's private-use scheme.
func redirectSource(redirect string) string {
	u, err := url.Parse(redirect)
	if err != nil || u.Scheme == "" || strings.ContainsAny(redirect, ";,' \t\r\n") {
		return ""
	}
	if u.Host == "" {
		return u.Scheme + ":"
	}
	return u.Scheme + "://" + u.Host
}

func (p *pages) serveCSS(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=3600")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, "text/css; charset=utf-8", p.css)
}

// fail shows the error page: for a request that cannot be trusted to
// redirect (unknown client, bad redirect URI, forged form).
func (p *pages) fail(c *gin.Context, issuer string, status int, title, msg, code string) {
	p.render(c, status, p.failure, "", pageData{Title: title, Issuer: issuer, Message: msg, Code: code})
}

// authHidden are the authorization request's parameters, carried through
// the forms unchanged.
func authHidden(req oauth.AuthorizationRequest) []field {
	var out []field
	add := func(name, value string, keep bool) {
		if keep {
			out = append(out, field{name, value})
		}
	}
	add("response_type", req.ResponseType, true)
	add("client_id", req.ClientID, true)
	add("redirect_uri", req.RedirectURI, req.RedirectURI != "")
	add("scope", req.Scope, req.ScopeGiven)
	add("state", req.State, req.State != "")
	add("code_challenge", req.CodeChallenge, true)
	add("code_challenge_method", req.CodeChallengeMethod, true)
	add("nonce", req.Nonce, req.Nonce != "")
	add("prompt", req.Prompt, req.Prompt != "")
	return out
}

// authorizationParameters are the parameters of an authorization request
// (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1) that baton reads.
var authorizationParameters = []string{"response_type", "client_id", "redirect_uri", "scope", "state",
	"code_challenge", "code_challenge_method", "nonce", "prompt"}

// authorizationRequest reads the authorization parameters from a query or
// a form, noting the repeated ones.
func authorizationRequest(v url.Values) oauth.AuthorizationRequest {
	req := oauth.AuthorizationRequest{
		ResponseType: v.Get("response_type"), ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"),
		Scope: v.Get("scope"), ScopeGiven: v.Has("scope"), State: v.Get("state"),
		CodeChallenge: v.Get("code_challenge"), CodeChallengeMethod: v.Get("code_challenge_method"),
		Nonce: v.Get("nonce"), Prompt: v.Get("prompt"),
	}
	for _, k := range authorizationParameters {
		if len(v[k]) > 1 {
			req.Repeated = append(req.Repeated, k)
		}
	}
	return req
}
