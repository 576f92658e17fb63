package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// checkError is an answer that came with the expected status but failed a
// check of the mode (state, iss, a missing code or token). The load tool
// counts it under "check".
type checkError struct{ msg string }

func (e *checkError) Error() string { return e.msg }

func checkFailed(format string, args ...any) error {
	return &checkError{msg: fmt.Sprintf(format, args...)}
}

// codeFlow is one sign-in through the authorization code flow with PKCE
// (SPEC §6), as a browser and a public client do it together, per
// iteration:
//
//  1. GET /oauth2/authorize with a fresh verifier's S256 challenge and a
//     fresh state, as a new browser (no cookie): the login page, and the
//     browser cookie it sets;
//  2. POST the login form (its hidden fields unchanged, the username and
//     password filled in) with that cookie; for a trusted client the
//     answer is a 303 to the redirect URI (for another, the consent page,
//     which is allowed and posted in turn);
//  3. the Location is read, not followed: its state and iss must be ours
//     and the server's, and it must carry a code;
//  4. POST /oauth2/token with the code, the redirect URI, the verifier and
//     the client id; the answer must carry an access token.
//
// A step answering another status ends the iteration with that status,
// counted as an error (429 and 503 from the login throttle and the hash
// queue included).
func (l *loader) codeFlow(c *benchConn, username string) request {
	return func(ctx context.Context) (int, error) {
		verifier, state := randomURLSafe(32), randomURLSafe(16)
		sum := sha256.Sum256([]byte(verifier))
		req := l.get("/oauth2/authorize")
		req.URL.RawQuery = url.Values{"response_type": {"code"}, "client_id": {l.cmd.Client},
			"redirect_uri": {l.cmd.RedirectURI}, "state": {state},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}.Encode()
		resp, body, err := c.do(ctx, req)
		if err != nil || resp.StatusCode != http.StatusOK {
			return status(resp), err
		}
		cookie := cookieHeader(resp)
		if cookie == "" {
			return 0, checkFailed("the login page set no cookie")
		}
		resp, body, err = l.submit(ctx, c, req.URL, body, cookie, url.Values{"username": {username}, "password": {l.password}})
		if err == nil && resp.StatusCode == http.StatusOK { // the consent page
			resp, _, err = l.submit(ctx, c, req.URL, body, cookie, url.Values{"consent": {"allow"}})
		}
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			return status(resp), err
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			return 0, checkFailed("Location %q: %v", resp.Header.Get("Location"), err)
		}
		q := loc.Query()
		switch {
		case strings.SplitN(loc.String(), "?", 2)[0] != l.cmd.RedirectURI:
			return 0, checkFailed("redirected to %s, not to %s", loc.Redacted(), l.cmd.RedirectURI)
		case q.Get("error") != "":
			return 0, checkFailed("redirected with error %q: %s", q.Get("error"), q.Get("error_description"))
		case q.Get("state") != state:
			return 0, checkFailed("callback state %q, want %q", q.Get("state"), state)
		case q.Get("iss") != l.issuer:
			return 0, checkFailed("callback iss %q, want %q", q.Get("iss"), l.issuer)
		case q.Get("code") == "":
			return 0, checkFailed("callback without a code")
		}
		st, tok, err := c.token(ctx, l.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")},
			"redirect_uri": {l.cmd.RedirectURI}, "code_verifier": {verifier}, "client_id": {l.cmd.Client}}, false))
		if err == nil && st == http.StatusOK && tok.AccessToken == "" {
			return 0, checkFailed("token response without an access token")
		}
		return st, err
	}
}

// submit posts the page's form with its fields unchanged but those of
// fill, and the cookie.
func (l *loader) submit(ctx context.Context, c *benchConn, at *url.URL, page []byte, cookie string, fill url.Values) (*http.Response, []byte, error) {
	action, fields, err := parseForm(page)
	if err != nil {
		return nil, nil, err
	}
	target, err := at.Parse(action)
	if err != nil {
		return nil, nil, checkFailed("form action %q: %v", action, err)
	}
	for k, v := range fill {
		fields[k] = v
	}
	req := l.postTo(target, fields, false)
	req.Header.Set("Cookie", cookie)
	return c.do(ctx, req)
}

// parseForm returns the action and the named inputs of the page's first
// form.
func parseForm(page []byte) (string, url.Values, error) {
	z := html.NewTokenizer(bytes.NewReader(page))
	action, fields, inForm := "", url.Values{}, false
	for {
		switch z.Next() {
		case html.ErrorToken:
			if !inForm {
				return "", nil, checkFailed("no form on the page")
			}
			return action, fields, nil
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			attr := map[string]string{}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				attr[string(k)] = string(v)
			}
			switch string(name) {
			case "form":
				if inForm {
					return action, fields, nil
				}
				action, inForm = attr["action"], true
			case "input":
				if inForm && attr["name"] != "" {
					fields.Set(attr["name"], attr["value"])
				}
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); inForm && string(name) == "form" {
				return action, fields, nil
			}
		}
	}
}

// cookieHeader is the Cookie header a browser sends back after resp.
func cookieHeader(resp *http.Response) string {
	var parts []string
	for _, ck := range resp.Cookies() {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; ")
}

func status(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

// randomURLSafe is n random bytes, base64url without padding (a PKCE
// verifier of 32 bytes is 43 characters, RFC 7636 §4.1).
func randomURLSafe(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
