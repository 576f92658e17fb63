package oauth

import "errors"

// Tokens is the token endpoint (its grants, client authentication and CORS),
// introspection (RFC 7662), revocation (RFC 7009), userinfo and the check
// of bearer access tokens. It is safe for concurrent use.
type Tokens struct {
	*shared
	store    TokenStore
	signer   Signer
	verifier Verifier
}

// NewTokens returns the token operations on store, signing and verifying
// with keys.
func NewTokens(store TokenStore, keys Keys, sh *Shared) (*Tokens, error) {
	if keys == nil {
		return nil, errors.New("oauth: tokens need signing keys")
	}
	return &Tokens{shared: sh.sh, store: store, signer: keys, verifier: keys}, nil
}
