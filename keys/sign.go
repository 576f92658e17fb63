package keys

import (
	"crypto"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// newSigner returns go-jose's signer for one key and one "typ" header. The
// protected header it writes is {"alg","kid","typ"}; a jose.Signer is safe
// for concurrent use, so a snapshot builds one per typ and shares it.
func newSigner(alg jose.SignatureAlgorithm, kid, typ string, priv crypto.Signer) (jose.Signer, error) {
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: priv, KeyID: kid}}, opts)
	if err != nil {
		return nil, fmt.Errorf("keys: %s signer: %w", alg, err)
	}
	return signer, nil
}

// sign returns the compact JWS (RFC 7515 §7.1) of payload.
func sign(signer jose.Signer, payload []byte) (string, error) {
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("keys: sign: %w", err)
	}
	return jws.CompactSerialize()
}
