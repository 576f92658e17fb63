package oauth

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// maxURILen bounds registered and requested redirect URIs and origins.
const maxURILen = 2000

// matchRedirectURI reports whether a requested redirect URI matches one of
// the registered ones (SPEC §6): exactly as strings (RFC 9700 §2.1), except
// that a registered loopback URI http://127.0.0.1… or http://[::1]… matches
// the same URI with any port (RFC 8252 §7.3), since a native app listens on
// a port the OS picks.
func matchRedirectURI(registered []string, requested string) bool {
	if slices.Contains(registered, requested) {
		return true
	}
	host, rest, ok := loopbackParts(requested)
	if !ok {
		return false
	}
	for _, r := range registered {
		if h, rr, ok := loopbackParts(r); ok && h == host && rr == rest {
			return true
		}
	}
	return false
}

// loopbackParts splits an http URI on a loopback IP literal into the host
// without its port and everything after the authority. ok is false for any
// other URI, and for a port that is not a number from 1 to 65535.
func loopbackParts(raw string) (host, rest string, ok bool) {
	after, found := strings.CutPrefix(raw, "http://")
	if !found {
		return "", "", false
	}
	end := strings.IndexAny(after, "/?#")
	if end < 0 {
		end = len(after)
	}
	authority, rest := after[:end], after[end:]
	var port string
	switch {
	case strings.HasPrefix(authority, "127.0.0.1"):
		host, port = "127.0.0.1", authority[len("127.0.0.1"):]
	case strings.HasPrefix(authority, "[::1]"):
		host, port = "[::1]", authority[len("[::1]"):]
	default:
		return "", "", false
	}
	if port != "" {
		p, found := strings.CutPrefix(port, ":")
		n, err := strconv.Atoi(p)
		if !found || err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return "", "", false
		}
	}
	return host, rest, true
}

// checkRedirectURI refuses what may not be registered as a redirect URI:
// relative URIs, fragments (RFC 6749 §3.1.2), plain http except on
// loopback (RFC 8252 §8.3), and anything that would not round-trip as one
// space-free string.
func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "" || len(raw) > maxURILen || strings.ContainsAny(raw, " \t\r\n\x00"):
		return fmt.Errorf("redirect URI %q must be 1 to %d characters without spaces", raw, maxURILen)
	case err != nil || !u.IsAbs():
		return fmt.Errorf("redirect URI %q must be an absolute URI", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("redirect URI %q must not have a fragment", raw)
	case u.Scheme == "http" && u.Hostname() != "localhost" && u.Hostname() != "127.0.0.1" && u.Hostname() != "::1":
		return fmt.Errorf("redirect URI %q: plain http is allowed only on loopback (127.0.0.1, [::1], localhost)", raw)
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host == "":
		return fmt.Errorf("redirect URI %q has no host", raw)
	case u.Scheme == "javascript" || u.Scheme == "data" || u.Scheme == "vbscript" || u.Scheme == "file":
		return fmt.Errorf("redirect URI %q: scheme %s is not allowed", raw, u.Scheme)
	}
	return nil
}

// checkOrigin accepts a browser origin as the Origin header carries it:
// scheme://host[:port], no path, no trailing slash.
func checkOrigin(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || len(raw) > maxURILen || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, " \t\r\n\x00#?") ||
		raw != u.Scheme+"://"+u.Host {
		return fmt.Errorf("origin %q must be scheme://host[:port], as in https://app.example", raw)
	}
	return nil
}

// checkCodeFlowSpec checks a client's redirect URIs and origins.
func checkCodeFlowSpec(spec ClientSpec) error {
	for _, r := range spec.RedirectURIs {
		if err := checkRedirectURI(r); err != nil {
			return err
		}
	}
	for _, o := range spec.AllowedOrigins {
		if err := checkOrigin(o); err != nil {
			return err
		}
	}
	code := slices.Contains(spec.Grants, GrantAuthorizationCode)
	switch {
	case code && len(spec.RedirectURIs) == 0:
		return errors.New("the authorization_code grant needs at least one --redirect-uri")
	case !code && len(spec.RedirectURIs) > 0:
		return errors.New("--redirect-uri is only used with the authorization_code grant")
	}
	return nil
}
