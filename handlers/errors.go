package handlers

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/keys"
	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/oauth"
)

// kind is a kind of error answer: a row of errorTable.
type kind uint8

const (
	// RFC 6749 §5.2, at /oauth2/token, /oauth2/revoke, /oauth2/introspect.
	kindOAuth         kind = iota // an *oauth.Error with a 400 code: the code is the error's
	kindInvalidClient             // client authentication failed
	kindThrottled                 // too many failed attempts by this caller
	kindOverloaded                // the server is busy (oauth says when to retry)
	kindUnavailable               // the database cannot be reached
	kindServerError               // anything else: logged with its cause
	kindCancelled                 // the client hung up: nobody reads the answer
	kindTooLarge                  // a request body over 64 KiB (SPEC §2)

	// RFC 6750 §3, at /oauth2/userinfo and the admin API.
	kindNoToken           // no bearer token: no error code in the challenge (§3.1)
	kindInvalidToken      // a bearer token that is not valid
	kindInsufficientScope // a valid bearer token without the endpoint's scope

	// The admin API and routing: plain codes, not OAuth's (handlers/openapi.json).
	kindInvalidInput // a value a check refuses
	kindNotFound     // no such user, client or session
	kindConflict     // taken, or a key rotation that comes too early
	kindNoRoute      // no such path
	kindNoMethod     // the path exists, not with this method
)

// row is how baton answers one kind of error.
type row struct {
	status int
	code   string // the "error" member; "" for the error's own
	desc   string // the "error_description" when the error gives none
	// challenge is the WWW-Authenticate header (RFC 7235 §4.1), nil for
	// none; it is given the answer's description and the endpoint.
	challenge func(desc string, at endpoint) string
}

// errorTable is every error answer: status, code and challenge.
var errorTable = [...]row{
	kindOAuth:         {status: http.StatusBadRequest},
	kindInvalidClient: {status: http.StatusUnauthorized, code: "invalid_client", challenge: basicChallenge},
	kindThrottled:     {status: http.StatusTooManyRequests, code: "temporarily_unavailable"},
	kindOverloaded:    {status: http.StatusServiceUnavailable, code: "temporarily_unavailable"},
	kindUnavailable: {status: http.StatusServiceUnavailable, code: "temporarily_unavailable",
		desc: "the database is unavailable; retry shortly"},
	kindServerError: {status: http.StatusInternalServerError, code: "server_error", desc: "internal error"},
	kindCancelled:   {status: statusClientClosedRequest},
	kindTooLarge:    {status: http.StatusRequestEntityTooLarge, code: "invalid_request", desc: "request body exceeds 64 KiB"},

	kindNoToken: {status: http.StatusUnauthorized, code: "unauthorized", desc: "a bearer access token is required",
		challenge: bearerChallenge},
	kindInvalidToken:      {status: http.StatusUnauthorized, code: "invalid_token", challenge: invalidTokenChallenge},
	kindInsufficientScope: {status: http.StatusForbidden, code: "insufficient_scope", challenge: scopeChallenge},

	kindInvalidInput: {status: http.StatusBadRequest, code: "invalid_request"},
	kindNotFound:     {status: http.StatusNotFound, code: "not_found"},
	kindConflict:     {status: http.StatusConflict, code: "conflict"},
	kindNoRoute:      {status: http.StatusNotFound, code: "not_found", desc: "no such path"},
	kindNoMethod:     {status: http.StatusMethodNotAllowed, code: "method_not_allowed", desc: "this path does not take this method"},
}

// unavailableRetry is the Retry-After of an unreachable database.
const unavailableRetry = time.Second

// Errors of the edge itself.
var (
	errTooLarge = errors.New("handlers: request body exceeds 64 KiB")
	errNoToken  = errors.New("handlers: no bearer token")
	errNoRoute  = errors.New("handlers: no such route")
	errNoMethod = errors.New("handlers: method not allowed")
)

// sentinels are the errors, other than *oauth.Error, that an answer is
// made of, with the description the client gets: the row's unless desc is
// set, or the error's own text when own (it is written to be shown).
var sentinels = []struct {
	err  error
	kind kind
	desc string
	own  bool
}{
	{err: oauth.ErrUnavailable, kind: kindUnavailable},
	// The key ring reports its store's error as it is: rotation does not
	// go through oauth.
	{err: models.ErrUnavailable, kind: kindUnavailable},
	{err: oauth.ErrNotFound, kind: kindNotFound},
	{err: oauth.ErrUserExists, kind: kindConflict, desc: "the username is taken"},
	{err: oauth.ErrClientExists, kind: kindConflict, desc: "a client with this client_id already exists"},
	{err: keys.ErrTooEarly, kind: kindConflict, own: true},
	{err: oauth.ErrInvalidUser, kind: kindInvalidInput, own: true},
	{err: errTooLarge, kind: kindTooLarge},
	{err: errNoToken, kind: kindNoToken},
	{err: errNoRoute, kind: kindNoRoute},
	{err: errNoMethod, kind: kindNoMethod},
}

// badInput is a parameter or body the admin API refuses (400
// invalid_request); its text is the description.
type badInput string

func (e badInput) Error() string { return string(e) }

// classify finds the kind of err, which ended a request with context ctx,
// and the description the error itself gives ("" when it gives none).
func classify(ctx context.Context, err error) (kind, string) {
	var oerr *oauth.Error
	var input *oauth.ClientInputError
	var bad badInput
	switch {
	case errors.As(err, &oerr):
		return oauthKind(oerr), oerr.Description
	case cancelled(ctx, err):
		// Not a database outage even when the store saw its query
		// cancelled as a broken connection.
		return kindCancelled, ""
	case errors.As(err, &input):
		return kindInvalidInput, input.Error()
	case errors.As(err, &bad):
		return kindInvalidInput, string(bad)
	}
	for _, s := range sentinels {
		switch {
		case !errors.Is(err, s.err):
		case s.own:
			return s.kind, err.Error()
		default:
			return s.kind, s.desc
		}
	}
	return kindServerError, ""
}

// oauthKind is the kind of an OAuth error, by its code.
func oauthKind(e *oauth.Error) kind {
	switch {
	case e.Throttled:
		return kindThrottled
	case e.Code == oauth.ErrInvalidClient.Code:
		return kindInvalidClient
	case e.Code == oauth.ErrServerError.Code:
		return kindServerError
	case e.Code == oauth.ErrTemporarilyUnavail.Code:
		return kindOverloaded
	case e.Code == oauth.ErrInvalidToken.Code:
		return kindInvalidToken
	case e.Code == oauth.ErrInsufficientScope.Code:
		return kindInsufficientScope
	}
	return kindOAuth
}

// endpoint is what an endpoint adds to the table's answers.
type endpoint struct {
	scope   string // the scope a bearer endpoint requires (insufficient_scope's challenge)
	missing string // the description of the admin API's not_found ("no such user")
}

// errorBody is the RFC 6749 §5.2 error response, which the admin API shares.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// statusClientClosedRequest is recorded (in the request log and metrics)
// for a request whose client went away before the answer: nginx's 499.
const statusClientClosedRequest = 499

// cancelled reports whether err ended a request because its client hung
// up: the request's context is cancelled, or err is a cancellation.
func cancelled(ctx context.Context, err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled)
}

// maxLoggedPath bounds the request path in a log line.
const maxLoggedPath = 256

// writeError answers err at an endpoint that adds nothing to the table.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	endpoint{}.writeError(c, log, err)
}

// writeError is the one writer of error responses: err's row of
// errorTable gives status, code and challenge; the answer is never cached.
// An error no row knows is logged with its cause and answered 500.
func (at endpoint) writeError(c *gin.Context, log *slog.Logger, err error) {
	ctx, path := c.Request.Context(), truncate(c.Request.URL.Path, maxLoggedPath)
	k, desc := classify(ctx, err)
	var oerr *oauth.Error
	isOAuth := errors.As(err, &oerr)
	var retry time.Duration
	switch k {
	case kindCancelled:
		log.DebugContext(ctx, "request cancelled by the client", "path", path, "err", err)
		c.AbortWithStatus(statusClientClosedRequest)
		return
	case kindUnavailable:
		c.Set(dbDownKey, true)
		log.WarnContext(ctx, "database unavailable", "path", path, "err", err)
		retry = unavailableRetry
	case kindServerError:
		if !isOAuth { // nothing in it was meant for the client
			log.ErrorContext(ctx, "request failed", "path", path, "err", err)
		}
	case kindNotFound:
		desc = at.missing
	}
	if isOAuth && oerr.RetryAfter > 0 {
		retry = oerr.RetryAfter
	}
	r := errorTable[k]
	body := errorBody{Error: r.code, Description: desc}
	if body.Error == "" {
		body.Error = oerr.Code // kindOAuth
	}
	if body.Description == "" {
		body.Description = r.desc
	}
	noStore(c)
	if r.challenge != nil {
		c.Header("WWW-Authenticate", r.challenge(body.Description, at))
	}
	if retry > 0 {
		setRetryAfter(c.Writer.Header(), retry)
	}
	c.AbortWithStatusJSON(r.status, body)
}

// failed writes err, if any, and reports whether it did.
func (at endpoint) failed(c *gin.Context, log *slog.Logger, err error) bool {
	if err != nil {
		at.writeError(c, log, err)
	}
	return err != nil
}

// basicChallenge asks for client authentication (RFC 6749 §5.2, RFC 7617).
func basicChallenge(string, endpoint) string {
	return challenge("Basic", "realm", "baton", "charset", "UTF-8")
}

// bearerChallenge asks for a bearer token, without an error: the request
// had none (RFC 6750 §3.1).
func bearerChallenge(string, endpoint) string { return challenge("Bearer", "realm", "baton") }

func invalidTokenChallenge(desc string, _ endpoint) string {
	return challenge("Bearer", "realm", "baton", "error", "invalid_token", "error_description", desc)
}

func scopeChallenge(_ string, at endpoint) string {
	return challenge("Bearer", "realm", "baton", "error", "insufficient_scope", "scope", at.scope)
}

// quoted escapes a quoted-string's quotes and backslashes (RFC 9110 §5.6.4).
var quoted = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// challenge is a WWW-Authenticate challenge: the scheme and its
// parameters, given as name, value pairs.
func challenge(scheme string, params ...string) string {
	var b strings.Builder
	b.WriteString(scheme)
	for i := 0; i+1 < len(params); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(" " + params[i] + `="` + quoted.Replace(params[i+1]) + `"`)
	}
	return b.String()
}

// setRetryAfter sets Retry-After to d in whole seconds, rounded up.
func setRetryAfter(h http.Header, d time.Duration) {
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
}
