package keys

import (
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// ErrUnknownKey is returned for a token whose kid is not published.
var ErrUnknownKey = errors.New("keys: unknown key id")

// allowedAlgs are the only algorithms a token may claim, Algorithms: never
// "none", never HMAC.
var allowedAlgs = joseAlgorithms()

func joseAlgorithms() []jose.SignatureAlgorithm {
	var out []jose.SignatureAlgorithm
	for _, a := range Algorithms() {
		out = append(out, jose.SignatureAlgorithm(a))
	}
	return out
}

// Verify checks a compact JWS signed by one of the published keys, with the
// given "typ" header, and returns its payload. The header's alg must be the
// key's own.
func (r *Ring) Verify(token, typ string) ([]byte, error) {
	s := r.snap.Load()
	if s == nil {
		return nil, errors.New("keys: ring not initialised")
	}
	// Compact only: jose.ParseSigned would also take the JWS JSON
	// serialization, which no token of baton's is.
	jws, err := jose.ParseSignedCompact(token, allowedAlgs)
	if err != nil {
		return nil, fmt.Errorf("keys: parse token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("keys: token must carry exactly one signature")
	}
	h := jws.Signatures[0].Protected
	if got, _ := h.ExtraHeaders[jose.HeaderType].(string); got != typ {
		return nil, fmt.Errorf("keys: token typ %q, want %q", got, typ)
	}
	pub, ok := s.public[h.KeyID]
	if !ok {
		return nil, ErrUnknownKey
	}
	if h.Algorithm != pub.Algorithm {
		return nil, fmt.Errorf("keys: token alg %q does not match key %s", h.Algorithm, h.KeyID)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		return nil, fmt.Errorf("keys: verify token: %w", err)
	}
	return payload, nil
}
