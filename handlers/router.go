// Package handlers is baton's HTTP edge: it parses requests into oauth
// types, calls the oauth service and writes RFC-shaped responses. It holds
// no protocol rules and no database access.
package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth"
)

// Config is what the router needs; cmd builds it.
type Config struct {
	Tokens         *oauth.Tokens         // token endpoint, revocation, introspection, userinfo, bearer tokens
	Authorizations *oauth.Authorizations // the code flow's pages
	Admin          *oauth.Admin          // the admin API
	Keys           KeySet
	Rotator        KeyRotator
	AdminScope     string // scope an access token needs for /admin/v1
	Issuer         string
	JWKSMaxAge     time.Duration
	// Ready reports whether the server can serve tokens (database reachable,
	// a signing key loaded); /readyz answers 503 while it fails.
	Ready func(context.Context) error
	Log   *slog.Logger
	// Demo, when set, serves the demo page under /demo (BATON_DEMO).
	Demo *Demo
	// Metrics, when set, are served at /metrics and fed by every request.
	Metrics *Metrics
	// TrustedProxies are the addresses (CIDRs) whose X-Forwarded-For is
	// believed; none by default.
	TrustedProxies []string

	// Internal moves /metrics from this router to NewInternalRouter's
	// (BATON_INTERNAL_ADDR); InternalAdmin moves the admin API there too
	// (BATON_INTERNAL_ADMIN). Off: everything is served here.
	Internal      bool
	InternalAdmin bool
}

// NewRouter returns the HTTP handler of every baton endpoint.
func NewRouter(cfg Config) (http.Handler, error) {
	if cfg.Tokens == nil || cfg.Authorizations == nil || cfg.Admin == nil || cfg.Keys == nil || cfg.Rotator == nil || cfg.Ready == nil || cfg.Log == nil || cfg.AdminScope == "" {
		return nil, errors.New("handlers: tokens, authorizations, admin, keys, rotator, admin scope, ready and log are required")
	}
	meta, err := metadataBody(cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("handlers: render metadata: %w", err)
	}
	r, err := newEngine(cfg, !cfg.Internal)
	if err != nil {
		return nil, err
	}

	token := &tokenHandler{svc: cfg.Tokens, log: cfg.Log}
	cors := corsByClient(cfg.Tokens)
	r.POST("/oauth2/token", cors, token.serve)
	r.POST("/oauth2/revoke", cors, revoke(cfg.Tokens, cfg.Log))
	if err := mountCodeFlow(r, cfg); err != nil {
		return nil, err
	}
	r.POST("/oauth2/introspect", introspect(cfg.Tokens, cfg.Log))
	r.GET("/.well-known/jwks.json", newJWKSHandler(cfg.Keys, cfg.JWKSMaxAge).serve)
	metaHandler := serveBytes("application/json", "public, max-age=3600", meta)
	r.GET("/.well-known/oauth-authorization-server", metaHandler)
	r.GET("/.well-known/openid-configuration", metaHandler)
	for _, public := range []string{"/.well-known/jwks.json", "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		r.OPTIONS(public, publicPreflight)
	}
	r.GET("/healthz", healthz)
	r.GET("/readyz", readyz(cfg.Ready, cfg.Log))

	if !cfg.InternalAdmin {
		mountAdmin(r, cfg)
	}
	if cfg.Demo != nil {
		if err := cfg.Demo.mount(r); err != nil {
			return nil, fmt.Errorf("handlers: demo: %w", err)
		}
	}
	return headAsGet{r}, nil
}

// headAsGet is a router that answers HEAD as GET (RFC 9110 §9.3.2: a
// server that supports GET supports HEAD; load balancers probe /healthz
// with it): the request goes through the router, its middleware included,
// as a GET, and net/http, which sees the HEAD, sends no body.
type headAsGet struct{ *gin.Engine }

func (h headAsGet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		r = r.Clone(r.Context())
		r.Method = http.MethodGet
	}
	h.Engine.ServeHTTP(w, r)
}

// mountAdmin adds the admin API (/admin/v1), on the public router or on the
// internal one (Config.InternalAdmin).
func mountAdmin(r gin.IRouter, cfg Config) {
	admin := r.Group("/admin/v1", requireScope(cfg.Tokens, cfg.AdminScope, cfg.Log), plainParams(cfg.Log))
	api := func(missing string) adminAPI {
		return adminAPI{svc: cfg.Admin, log: cfg.Log, at: endpoint{missing: missing}}
	}
	admin.POST("/keys/rotate", rotateKeys(cfg.Rotator, cfg.Log))
	sessions := &adminSessions{api("no such user or session")}
	admin.GET("/sessions", sessions.list)
	admin.DELETE("/sessions", sessions.revokeAll)
	admin.DELETE("/sessions/:id", sessions.revokeOne)
	clients := &adminClients{api("no such client")}
	mountCollection(admin, "/clients", "/clients/:id", clients)
	admin.POST("/clients/:id/secret", clients.rotate)
	admin.GET("/openapi.json", serveOpenAPI)
	mountCollection(admin, "/users", "/users/:username", &adminUsers{api("no such user")})
}

// newEngine is a router with baton's middleware and error pages; /metrics
// (not access-logged) when withMetrics.
func newEngine(cfg Config, withMetrics bool) (*gin.Engine, error) {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// A username or client id may hold "/" (percent-encoded in the admin
	// API's paths): route on the path as sent, and leave its parameters as
	// sent too (gin would decode them as a query, "+" as a space), for
	// pathParam. No redirect to the path with(out) a trailing slash: gin
	// builds it from the decoded path, so that a "%2F" would become a "/".
	r.UseRawPath, r.UnescapePathValues = true, false
	r.RedirectTrailingSlash = false
	// Client addresses (login throttling, logs) come from the connection,
	// or from X-Forwarded-For when the peer is a configured proxy; never
	// from X-Real-IP, which a proxy that only sets X-Forwarded-For passes
	// through from the client unchanged.
	r.RemoteIPHeaders = []string{"X-Forwarded-For"}
	r.TrustedPlatform = ""
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("handlers: trusted proxies: %w", err)
	}
	r.Use(requestID())
	if cfg.Metrics != nil {
		r.Use(cfg.Metrics.observe())
		if withMetrics {
			r.GET("/metrics", cfg.Metrics.handler())
		}
	}
	r.Use(accessLog(cfg.Log), recovery(cfg.Log))
	r.NoRoute(func(c *gin.Context) { writeError(c, cfg.Log, errNoRoute) })
	r.NoMethod(func(c *gin.Context) { writeError(c, cfg.Log, errNoMethod) })
	return r, nil
}

// recovery answers a panic with a server_error JSON body instead of a
// dropped connection, and logs it.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(discard{}, func(c *gin.Context, rec any) {
		writeError(c, log, fmt.Errorf("panic: %v", rec))
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// accessLog writes one line per request: never the body, the query or
// headers, which may carry credentials, nor the caller's method or path
// (unbounded): the method's label and the matched route.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !log.Enabled(c.Request.Context(), slog.LevelInfo) {
			c.Next() // no line to write: spend nothing on one
			return
		}
		start := time.Now()
		c.Next()
		log.LogAttrs(c.Request.Context(), slog.LevelInfo, "request",
			slog.String("method", methodLabel(c.Request.Method)),
			slog.String("path", c.FullPath()),
			slog.Int("status", c.Writer.Status()),
			slog.Float64("duration_ms", float64(time.Since(start).Nanoseconds())/1e6),
			slog.String("client_ip", c.ClientIP()),
		)
	}
}
