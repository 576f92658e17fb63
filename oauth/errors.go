package oauth

import (
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/models"
)

// Error is an OAuth 2.0 error (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 6750 §3.1).
// Package-level values are templates: With returns a copy, and errors.Is
// matches any copy with the same Code and Throttled.
type Error struct {
	Code        string        // the "error" member
	Description string        // the "error_description" member: safe for the client
	RetryAfter  time.Duration // when set, the client may retry after this long
	// Throttled marks a refusal for too many failed attempts by this
	// caller (HTTP 429), as opposed to an overloaded server (503) that
	// shares its code.
	Throttled bool
	cause     error // logged, never sent
}

// The errors the token endpoint can return (RFC 6749 §5.2).
var (
	ErrInvalidRequest       = &Error{Code: "invalid_request"}
	ErrInvalidClient        = &Error{Code: "invalid_client"}
	ErrInvalidGrant         = &Error{Code: "invalid_grant"}
	ErrUnauthorizedClient   = &Error{Code: "unauthorized_client"}
	ErrUnsupportedGrantType = &Error{Code: "unsupported_grant_type"}
	ErrInvalidScope         = &Error{Code: "invalid_scope"}
	ErrServerError          = &Error{Code: "server_error"}
	ErrTemporarilyUnavail   = &Error{Code: "temporarily_unavailable"}
	// ErrThrottled refuses an attempt while its username or address
	// waits after repeated failures (answered 429 with Retry-After). The
	// code is RFC 6749's "retry later" one; slow_down is RFC 8628's
	// device-polling code and means nothing to a password-grant client.
	ErrThrottled = &Error{Code: "temporarily_unavailable", Throttled: true}
)

func (e *Error) Error() string {
	if e.Description == "" {
		return "oauth: " + e.Code
	}
	return fmt.Sprintf("oauth: %s: %s", e.Code, e.Description)
}

// Unwrap returns the internal cause, for logging.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an *Error with the same code and the same
// Throttled.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Throttled == e.Throttled
}

// With returns a copy of e with a client-safe description and an internal cause.
func (e *Error) With(desc string, cause error) *Error {
	c := *e
	c.Description, c.cause = desc, cause
	return &c
}

// After returns a copy of e that tells the client when to retry.
func (e *Error) After(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

// Describe returns a copy of e with a client-safe description.
func (e *Error) Describe(format string, args ...any) *Error {
	return e.With(fmt.Sprintf(format, args...), nil)
}

// ErrUnavailable reports that the database could not be reached (a store's
// models.ErrUnavailable): nothing was decided, and the request may be
// retried shortly.
var ErrUnavailable = errors.New("oauth: database unavailable")

// storeMeaning is what one sentinel of models means at one store call.
type storeMeaning struct{ sentinel, as error }

// onNotFound, onExists and onConflict give the meaning, at one store call,
// of models.ErrNotFound, ErrAlreadyExists and ErrConflict; a nil meaning is
// no failure (an unknown token is inactive, not an error).
func onNotFound(as error) storeMeaning { return storeMeaning{models.ErrNotFound, as} }
func onExists(as error) storeMeaning   { return storeMeaning{models.ErrAlreadyExists, as} }
func onConflict(as error) storeMeaning { return storeMeaning{models.ErrConflict, as} }

// fromStore translates the error of a store call into oauth's errors where
// oauth makes the call, so that no caller of oauth sees a storage sentinel
// (fosite's ErrorToRFC6749Error, Dex's storage checks): a sentinel the
// caller gave a meaning becomes that meaning; models.ErrUnavailable becomes
// ErrUnavailable; an *Error (the decision of a store callback) passes
// unchanged; anything else is a failure of step. The store's error stays
// in the chain, for the log. A nil err is nil.
func fromStore(err error, step string, meanings ...storeMeaning) error {
	if err == nil {
		return nil
	}
	for _, m := range meanings {
		if errors.Is(err, m.sentinel) {
			return m.as
		}
	}
	var oerr *Error
	switch {
	case errors.As(err, &oerr):
		return err
	case errors.Is(err, models.ErrUnavailable):
		return &storeError{step: step, kind: ErrUnavailable, err: err}
	}
	return fmt.Errorf("%s: %w", step, err)
}

// storeError is a store failure of a kind oauth names (ErrUnavailable).
type storeError struct {
	step      string
	kind, err error
}

func (e *storeError) Error() string   { return e.step + ": " + e.err.Error() }
func (e *storeError) Unwrap() []error { return []error{e.kind, e.err} }
