package oauth

import (
	"slices"
	"strings"

	"github.com/batonhq/baton/models"
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

// userScope is the scope a user grant asks of the client's: the requested
// one, or, when none was requested, every scope of the client except the
// admin scope, which is granted only when asked for (SPEC §7).
func (s *shared) userScope(requested []string, given bool, allowed []string) ([]string, error) {
	if !given || len(requested) == 0 {
		return slices.DeleteFunc(slices.Clone(allowed), func(sc string) bool { return sc == s.opts.AdminScope }), nil
	}
	return narrowScope(requested, given, allowed)
}

// forUser drops the admin scope from a user grant unless the user holds
// the admin role: admin rights belong to users, not to clients (SPEC §7).
func (s *shared) forUser(scope []string, user models.User) []string {
	if HasRole(user, RoleAdmin) {
		return scope
	}
	return slices.DeleteFunc(slices.Clone(scope), func(sc string) bool { return sc == s.opts.AdminScope })
}

// mayHold reports whether a user token's holder may still use the scope:
// the admin scope only while the user holds the admin role, so that taking
// the role away takes effect at once for tokens already issued.
func (s *shared) mayHold(user models.User, scope string) bool {
	return scope != s.opts.AdminScope || HasRole(user, RoleAdmin)
}
