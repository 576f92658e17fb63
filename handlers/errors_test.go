package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/keys"
	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/oauth"
)

// TestErrorTable writes every kind of error through the one writer and
// checks the answer: status, code, description, WWW-Authenticate and
// Retry-After. Every row of errorTable must be reached by a case.
func TestErrorTable(t *testing.T) {
	admin := endpoint{scope: "admin", missing: "no such user"}
	tooEarly := fmt.Errorf("keys: rotate: %w (it was published 3s ago)", keys.ErrTooEarly)
	seen := map[kind]bool{}
	for _, tt := range []struct {
		name   string
		at     endpoint
		err    error
		kind   kind
		status int
		code   string
		desc   string
		www    string
		retry  string
		dbDown bool
	}{
		// RFC 6749 §5.2
		{name: "invalid_request", err: oauth.ErrInvalidRequest.Describe("grant_type is required"),
			kind: kindOAuth, status: 400, code: "invalid_request", desc: "grant_type is required"},
		{name: "invalid_grant", err: fmt.Errorf("refresh: %w", oauth.ErrInvalidGrant.Describe("no")),
			kind: kindOAuth, status: 400, code: "invalid_grant", desc: "no"},
		{name: "invalid_client", err: oauth.ErrInvalidClient.Describe("client authentication failed"),
			kind: kindInvalidClient, status: 401, code: "invalid_client", desc: "client authentication failed",
			www: `Basic realm="baton", charset="UTF-8"`},
		{name: "throttled", err: oauth.ErrThrottled.Describe("wait").After(3500 * time.Millisecond),
			kind: kindThrottled, status: 429, code: "temporarily_unavailable", desc: "wait", retry: "4"},
		{name: "overloaded", err: oauth.ErrTemporarilyUnavail.Describe("busy").After(time.Second),
			kind: kindOverloaded, status: 503, code: "temporarily_unavailable", desc: "busy", retry: "1"},
		{name: "oauth server_error", err: oauth.ErrServerError.Describe("broken"),
			kind: kindServerError, status: 500, code: "server_error", desc: "broken"},
		{name: "database unavailable", err: fmt.Errorf("token: %w", oauth.ErrUnavailable),
			kind: kindUnavailable, status: 503, code: "temporarily_unavailable",
			desc: "the database is unavailable; retry shortly", retry: "1", dbDown: true},
		{name: "database unavailable to the key ring", err: fmt.Errorf("keys: rotate: %w", models.ErrUnavailable),
			kind: kindUnavailable, status: 503, code: "temporarily_unavailable",
			desc: "the database is unavailable; retry shortly", retry: "1", dbDown: true},
		{name: "anything else", err: errors.New("disk on fire"),
			kind: kindServerError, status: 500, code: "server_error", desc: "internal error"},
		{name: "cancelled", err: fmt.Errorf("load user: %w", context.Canceled), kind: kindCancelled, status: 499},
		{name: "body too large", err: errTooLarge,
			kind: kindTooLarge, status: 413, code: "invalid_request", desc: "request body exceeds 64 KiB"},

		// RFC 6750 §3
		{name: "no bearer token", at: admin, err: errNoToken,
			kind: kindNoToken, status: 401, code: "unauthorized", desc: "a bearer access token is required",
			www: `Bearer realm="baton"`},
		{name: "invalid_token", at: admin, err: oauth.ErrInvalidToken.Describe("the access token expired"),
			kind: kindInvalidToken, status: 401, code: "invalid_token", desc: "the access token expired",
			www: `Bearer realm="baton", error="invalid_token", error_description="the access token expired"`},
		{name: "invalid_token, quoted", err: oauth.ErrInvalidToken.Describe(`a "b" \c`),
			kind: kindInvalidToken, status: 401, code: "invalid_token", desc: `a "b" \c`,
			www: `Bearer realm="baton", error="invalid_token", error_description="a \"b\" \\c"`},
		{name: "insufficient_scope", at: admin, err: oauth.ErrInsufficientScope.Describe("the admin scope is required"),
			kind: kindInsufficientScope, status: 403, code: "insufficient_scope", desc: "the admin scope is required",
			www: `Bearer realm="baton", error="insufficient_scope", scope="admin"`},
		{name: "insufficient_scope at userinfo", at: endpoint{scope: oauth.ScopeOpenID},
			err:  oauth.ErrInsufficientScope.Describe("the openid scope is required"),
			kind: kindInsufficientScope, status: 403, code: "insufficient_scope", desc: "the openid scope is required",
			www: `Bearer realm="baton", error="insufficient_scope", scope="openid"`},

		// The admin API and routing
		{name: "bad parameter", at: admin, err: badInput("limit must be 1 to 500"),
			kind: kindInvalidInput, status: 400, code: "invalid_request", desc: "limit must be 1 to 500"},
		{name: "refused client field", at: admin, err: fmt.Errorf("update: %w", &oauth.ClientInputError{Err: errors.New("bad redirect_uri")}),
			kind: kindInvalidInput, status: 400, code: "invalid_request", desc: "bad redirect_uri"},
		{name: "refused user", at: admin, err: fmt.Errorf("%w: password too short", oauth.ErrInvalidUser),
			kind: kindInvalidInput, status: 400, code: "invalid_request", desc: "oauth: invalid user: password too short"},
		{name: "not found", at: admin, err: fmt.Errorf("user %q: %w", "bob", oauth.ErrNotFound),
			kind: kindNotFound, status: 404, code: "not_found", desc: "no such user"},
		{name: "user exists", at: admin, err: fmt.Errorf("user %q %w", "bob", oauth.ErrUserExists),
			kind: kindConflict, status: 409, code: "conflict", desc: "the username is taken"},
		{name: "client exists", at: admin, err: fmt.Errorf("client %q %w", "c", oauth.ErrClientExists),
			kind: kindConflict, status: 409, code: "conflict", desc: "a client with this client_id already exists"},
		{name: "rotation too early", at: admin, err: tooEarly,
			kind: kindConflict, status: 409, code: "conflict", desc: tooEarly.Error()},
		{name: "no route", err: errNoRoute, kind: kindNoRoute, status: 404, code: "not_found", desc: "no such path"},
		{name: "no method", err: errNoMethod, kind: kindNoMethod, status: 405, code: "method_not_allowed", desc: "this path does not take this method"},
	} {
		seen[tt.kind] = true
		t.Run(tt.name, func(t *testing.T) {
			if k, _ := classify(context.Background(), tt.err); k != tt.kind {
				t.Errorf("kind %d, want %d", k, tt.kind)
			}
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest("GET", "/x", nil)
			if tt.kind == kindCancelled {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				c.Request = c.Request.WithContext(ctx)
			}
			tt.at.writeError(c, slog.New(slog.NewTextHandler(io.Discard, nil)), tt.err)

			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.www {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.www)
			}
			if got := w.Header().Get("Retry-After"); got != tt.retry {
				t.Errorf("Retry-After %q, want %q", got, tt.retry)
			}
			if got := c.GetBool(dbDownKey); got != tt.dbDown {
				t.Errorf("database-down mark %v, want %v", got, tt.dbDown)
			}
			if tt.status == statusClientClosedRequest {
				if w.Body.Len() != 0 {
					t.Errorf("a body for a client that hung up: %s", w.Body)
				}
				return
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q", got)
			}
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"error": tt.code}
			if tt.desc != "" {
				want["error_description"] = tt.desc
			}
			if fmt.Sprint(body) != fmt.Sprint(want) {
				t.Errorf("body %v, want %v", body, want)
			}
		})
	}
	for k := range errorTable {
		if !seen[kind(k)] {
			t.Errorf("row %d of errorTable has no case", k)
		}
	}
}
