package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/batonhq/baton/models"
)

// Algorithms baton signs with.
const (
	ES256 = "ES256"
	RS256 = "RS256"
	EdDSA = "EdDSA"
)

// Algorithms returns the signing algorithms baton supports, the default
// first: the one list the configuration, the verifier and the discovery
// documents derive from.
func Algorithms() []string { return []string{ES256, RS256, EdDSA} }

// CheckAlg reports whether alg is one of Algorithms.
func CheckAlg(alg string) error {
	if algs := Algorithms(); !slices.Contains(algs, alg) {
		last := len(algs) - 1
		return fmt.Errorf("keys: %.64q is not %s or %s", alg, strings.Join(algs[:last], ", "), algs[last])
	}
	return nil
}

// rsaBits is the RSA modulus size for RS256 keys.
const rsaBits = 2048

func generate(alg string) (crypto.Signer, error) {
	switch alg {
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		return rsa.GenerateKey(rand.Reader, rsaBits)
	case EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("keys: unsupported algorithm %q", alg)
}

// newKey generates a key pair and returns it sealed, in the given state.
// The kid is the RFC 7638 thumbprint of the public key.
func newKey(alg, state string, kek []byte, now, activateAt time.Time) (models.SigningKey, error) {
	priv, err := generate(alg)
	if err != nil {
		return models.SigningKey{}, fmt.Errorf("keys: generate %s key: %w", alg, err)
	}
	pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: alg, Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return models.SigningKey{}, fmt.Errorf("keys: thumbprint: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	pubJSON, err := pub.MarshalJSON()
	if err != nil {
		return models.SigningKey{}, fmt.Errorf("keys: marshal public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return models.SigningKey{}, fmt.Errorf("keys: marshal private key: %w", err)
	}
	sealed, err := seal(kek, der, pub.KeyID, alg)
	if err != nil {
		return models.SigningKey{}, fmt.Errorf("keys: seal key: %w", err)
	}
	return models.SigningKey{ID: pub.KeyID, Alg: alg, State: state, PublicJWK: pubJSON, SealedKey: sealed,
		CreatedAt: now, ActivateAt: activateAt}, nil
}

// unseal opens a stored key's private part.
func unseal(kek []byte, k models.SigningKey) (crypto.Signer, error) {
	der, err := openKey(kek, k)
	if err != nil {
		return nil, err
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("keys: parse signing key %s: %w", k.ID, err)
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("keys: signing key %s is a %T", k.ID, priv)
	}
	return s, nil
}
