package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/batonhq/baton/oauth"
)

// readAdminJSON decodes the admin API's JSON body, one object of at most
// 64 KiB, strictly into dst:
// unknown fields, wrong types, malformed JSON or anything after the
// object are invalid_request. With mayBeEmpty an empty body is accepted.
func readAdminJSON(r *http.Request, dst any, mayBeEmpty bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errTooLarge
		}
		return oauth.ErrInvalidRequest.With("request body could not be read", err)
	}
	if mayBeEmpty && len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
		return oauth.ErrInvalidRequest.Describe("content type must be application/json")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return oauth.ErrInvalidRequest.Describe("invalid JSON body: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return oauth.ErrInvalidRequest.Describe("invalid JSON body: data after the object")
	}
	return nil
}

// jsonProblem names what is wrong with a body without echoing its values.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return "field " + strconv.Quote(typeErr.Field) + " must be " + typeErr.Type.String()
	case errors.As(err, &typeErr):
		return "the body must be a JSON object"
	case errors.As(err, &syntaxErr):
		return "malformed JSON at byte " + strconv.FormatInt(syntaxErr.Offset, 10)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is empty or cut short"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + truncate(strings.TrimPrefix(err.Error(), "json: unknown field "), 64)
	}
	return "malformed JSON"
}
