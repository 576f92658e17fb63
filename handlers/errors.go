package handlers

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/oauth"
)

// statusError carries an HTTP status other than the one the error code
// implies (413 for an oversized body).
type statusError struct {
	status int
	err    *oauth.Error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// errorBody is the RFC 6749 §5.2 error response.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// statusOf maps an OAuth error to its HTTP status: by its code, except a
// refusal for too many attempts (429), whose code an overloaded server
// (503) shares.
func statusOf(e *oauth.Error) int {
	if e.Throttled {
		return http.StatusTooManyRequests
	}
	switch e.Code {
	case oauth.ErrInvalidClient.Code:
		return http.StatusUnauthorized
	case oauth.ErrServerError.Code:
		return http.StatusInternalServerError
	case oauth.ErrTemporarilyUnavail.Code:
		return http.StatusServiceUnavailable
	case "not_found":
		return http.StatusNotFound
	case "method_not_allowed":
		return http.StatusMethodNotAllowed
	default:
		return http.StatusBadRequest
	}
}

// statusClientClosedRequest is recorded (in the request log and metrics)
// for a request whose client went away before the answer: nginx's 499.
const statusClientClosedRequest = 499

// cancelled reports whether err ended a request because its client hung
// up: the request's context is cancelled, or err is a cancellation.
func cancelled(c *gin.Context, err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(c.Request.Context().Err(), context.Canceled)
}

// maxLoggedPath bounds the request path in a log line.
const maxLoggedPath = 256

// writeError is the one writer of OAuth error responses. Errors that are not
// *oauth.Error are logged with their cause and answered as server_error.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	var oerr *oauth.Error
	switch {
	case errors.As(err, &oerr):
	case cancelled(c, err):
		// The client hung up: nothing failed here, and nobody reads the
		// answer. Not a database outage even when the store saw its
		// query cancelled as a broken connection.
		log.DebugContext(c.Request.Context(), "request cancelled by the client", "path", truncate(c.Request.URL.Path, maxLoggedPath), "err", err)
		c.AbortWithStatus(statusClientClosedRequest)
		return
	case errors.Is(err, models.ErrUnavailable):
		c.Set(dbDownKey, true)
		log.WarnContext(c.Request.Context(), "database unavailable", "path", truncate(c.Request.URL.Path, maxLoggedPath), "err", err)
		oerr = oauth.ErrTemporarilyUnavail.Describe("the database is unavailable; retry shortly").After(time.Second)
	default:
		log.ErrorContext(c.Request.Context(), "request failed", "path", truncate(c.Request.URL.Path, maxLoggedPath), "err", err)
		oerr = oauth.ErrServerError.Describe("internal error")
	}
	status := statusOf(oerr)
	var serr *statusError
	if errors.As(err, &serr) {
		status = serr.status
	}
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="baton", charset="UTF-8"`)
	}
	if oerr.RetryAfter > 0 {
		setRetryAfter(h, oerr.RetryAfter)
	}
	c.AbortWithStatusJSON(status, errorBody{Error: oerr.Code, Description: oerr.Description})
}

// setRetryAfter sets Retry-After to d in whole seconds, rounded up.
func setRetryAfter(h http.Header, d time.Duration) {
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
}
