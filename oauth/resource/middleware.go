package resource

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

type claimsKey struct{}

// WithClaims returns a context carrying the claims.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFrom returns the claims Middleware verified for the request.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok
}

// Failure is how a request was refused, ready for RFC 6750 §3.
type Failure struct {
	Status int    // 401, 403 or 503
	Header string // WWW-Authenticate
	Code   string // invalid_token, insufficient_scope, "" when no token was sent
	Desc   string
}

// Authorize checks the request's bearer token and required scopes. It
// returns the claims, or the Failure to answer with.
func (v *Verifier) Authorize(r *http.Request, scopes ...string) (*Claims, *Failure) {
	token, ok := BearerToken(r.Header.Get("Authorization"))
	if !ok {
		return nil, &Failure{Status: http.StatusUnauthorized, Header: `Bearer realm="` + v.cfg.Audience + `"`}
	}
	c, err := v.Verify(r.Context(), token)
	switch {
	case errors.Is(err, ErrExpired):
		return nil, v.invalid("the access token expired")
	case errors.Is(err, ErrUnavailable):
		return nil, &Failure{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Desc: "the authorization server is unreachable"}
	case err != nil:
		return nil, v.invalid("the access token is invalid")
	}
	for _, s := range scopes {
		if !c.HasScope(s) {
			need := strings.Join(scopes, " ")
			return nil, &Failure{Status: http.StatusForbidden, Code: "insufficient_scope", Desc: "the access token lacks a required scope",
				Header: `Bearer realm="` + v.cfg.Audience + `", error="insufficient_scope", scope="` + need + `"`}
		}
	}
	return c, nil
}

func (v *Verifier) invalid(desc string) *Failure {
	return &Failure{Status: http.StatusUnauthorized, Code: "invalid_token", Desc: desc,
		Header: `Bearer realm="` + v.cfg.Audience + `", error="invalid_token", error_description="` + desc + `"`}
}

// Write answers the failure: status, WWW-Authenticate and a JSON body.
func (f *Failure) Write(w http.ResponseWriter) {
	if f.Header != "" {
		w.Header().Set("WWW-Authenticate", f.Header)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(f.Status)
	if f.Code != "" {
		_, _ = w.Write([]byte(`{"error":"` + f.Code + `","error_description":"` + f.Desc + `"}`))
		return
	}
	_, _ = w.Write([]byte(`{"error":"unauthorized"}`))
}

// Middleware protects a net/http handler: requests need a valid access
// token with every one of scopes; the claims reach the handler through
// ClaimsFrom(r.Context()).
func (v *Verifier) Middleware(scopes ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, fail := v.Authorize(r, scopes...)
			if fail != nil {
				fail.Write(w)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), c)))
		})
	}
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header (RFC 6750 §2.1; the scheme is case-insensitive), and whether the
// header holds one.
func BearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}
