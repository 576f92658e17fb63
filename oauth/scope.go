package oauth

import (
	"slices"
	"strings"
)

// ParseScope splits a scope parameter (RFC 6749 §3.3) into its tokens,
// dropping duplicates and keeping their order. It fails on characters that a
// scope-token may not contain (NQCHAR is %x21 / %x23-5B / %x5D-7E).
func ParseScope(s string) ([]string, error) {
	var out []string
	for _, tok := range strings.Split(s, " ") {
		if tok == "" {
			continue
		}
		if !validScopeToken(tok) {
			return nil, ErrInvalidScope.Describe("scope contains a character RFC 6749 §3.3 does not allow")
		}
		if !slices.Contains(out, tok) {
			out = append(out, tok)
		}
	}
	return out, nil
}

func validScopeToken(tok string) bool {
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return tok != ""
}

// ValidScopeToken reports whether s is a single valid scope-token.
func ValidScopeToken(s string) bool { return validScopeToken(s) }

// narrowScope returns the requested scope when it is a subset of the allowed
// one, or all of the allowed scope when nothing was requested.
func narrowScope(requested []string, given bool, allowed []string) ([]string, error) {
	if !given || len(requested) == 0 {
		return allowed, nil
	}
	for _, s := range requested {
		if !slices.Contains(allowed, s) {
			return nil, ErrInvalidScope.Describe("scope %q is not granted to this client", s)
		}
	}
	return requested, nil
}

func joinScope(s []string) string { return strings.Join(s, " ") }
