package oauth

// Authorizations is the authorization code flow's front channel (SPEC §6):
// validating authorization requests, the login and consent pages and the
// codes they issue. It is safe for concurrent use.
type Authorizations struct {
	*shared
	store AuthorizationStore
}

// NewAuthorizations returns the code-flow operations on store.
func NewAuthorizations(store AuthorizationStore, sh *Shared) *Authorizations {
	return &Authorizations{shared: sh.sh, store: store}
}
