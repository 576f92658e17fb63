package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// compactSigner writes JWS Compact Serializations (RFC 7515 §7.1) under one
// key and one protected header. The cryptography is the standard library's;
// what this adds over go-jose's signer is that the header is encoded once,
// not per token, and that a token is built in one buffer: go-jose marshals
// the header through reflection and assembles the token from parts on every
// call (BenchmarkSign compares the two; figures in docs/PERFORMANCE.md).
// Tokens are verified with go-jose (verify.go), and the tests check every
// algorithm's output against it.
type compactSigner struct {
	prefix  []byte // BASE64URL(UTF8(JWS Protected Header)) || '.'
	sigSize int    // bytes of a signature
	sign    func(signingInput []byte) ([]byte, error)
}

var b64 = base64.RawURLEncoding

func newCompactSigner(alg, kid, typ string, priv crypto.Signer) (*compactSigner, error) {
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ,omitempty"`
	}{alg, kid, typ})
	if err != nil {
		return nil, fmt.Errorf("keys: header: %w", err)
	}
	c := &compactSigner{prefix: append(b64.AppendEncode(nil, header), '.')}
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		if alg != ES256 || k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("keys: an ECDSA key signs ES256 on P-256 only, not %s", alg)
		}
		c.sigSize = 64
		c.sign = func(in []byte) ([]byte, error) {
			digest := sha256.Sum256(in)
			r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
			if err != nil {
				return nil, err
			}
			sig := make([]byte, 64) // RFC 7518 §3.4: R and S, 32 bytes each
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
			return sig, nil
		}
	case *rsa.PrivateKey:
		if alg != RS256 {
			return nil, fmt.Errorf("keys: an RSA key signs RS256 only, not %s", alg)
		}
		c.sigSize = k.Size()
		c.sign = func(in []byte) ([]byte, error) {
			digest := sha256.Sum256(in)
			return rsa.SignPKCS1v15(nil, k, crypto.SHA256, digest[:])
		}
	case ed25519.PrivateKey:
		if alg != EdDSA {
			return nil, fmt.Errorf("keys: an Ed25519 key signs EdDSA only, not %s", alg)
		}
		c.sigSize = ed25519.SignatureSize
		c.sign = func(in []byte) ([]byte, error) { return ed25519.Sign(k, in), nil }
	default:
		return nil, fmt.Errorf("keys: cannot sign with a %T", priv)
	}
	return c, nil
}

// Sign returns the compact JWS of payload.
func (c *compactSigner) Sign(payload []byte) (string, error) {
	size := len(c.prefix) + b64.EncodedLen(len(payload)) + 1 + b64.EncodedLen(c.sigSize)
	buf := append(make([]byte, 0, size), c.prefix...)
	buf = b64.AppendEncode(buf, payload)
	sig, err := c.sign(buf)
	if err != nil {
		return "", fmt.Errorf("keys: sign: %w", err)
	}
	buf = append(buf, '.')
	return string(b64.AppendEncode(buf, sig)), nil
}
