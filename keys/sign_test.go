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
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// BenchmarkSign compares go-jose's signer (what Ring.Sign uses) with the
// hand-written compact serializer it replaced; docs/PERFORMANCE.md has the
// figures and the end-to-end comparison behind the choice.
func BenchmarkSign(b *testing.B) {
	payload := []byte(`{"iss":"https://auth.example.test","sub":"u","aud":"api","client_id":"c","scope":"read write","iat":1,"exp":2,"jti":"abc","sid":"s"}`)
	for _, alg := range Algorithms() {
		_, joseSigner, compact := bothSigners(b, alg)
		for _, s := range []struct {
			name string
			sign func([]byte) (string, error)
		}{
			{"go-jose", func(p []byte) (string, error) { return sign(joseSigner, p) }},
			{"compact", compact.Sign},
		} {
			b.Run(alg+"/"+s.name, func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := s.sign(payload); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}

// TestCompactSignerMatches: both signers write the same protected header
// and go-jose verifies both, so the benchmark compares like with like.
func TestCompactSignerMatches(t *testing.T) {
	for _, alg := range Algorithms() {
		priv, joseSigner, compact := bothSigners(t, alg)
		a, err := sign(joseSigner, []byte(`{"a":1}`))
		if err != nil {
			t.Fatal(err)
		}
		c, err := compact.Sign([]byte(`{"a":1}`))
		if err != nil {
			t.Fatal(err)
		}
		ha, _, _ := strings.Cut(a, ".")
		hc, _, _ := strings.Cut(c, ".")
		var got, want map[string]any
		if err := json.Unmarshal(b64Decode(t, ha), &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b64Decode(t, hc), &want); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: go-jose header %v, compact %v", alg, got, want)
		}
		for _, tok := range []string{a, c} {
			jws, err := jose.ParseSignedCompact(tok, allowedAlgs)
			if err != nil {
				t.Fatalf("%s: %v", alg, err)
			}
			if _, err := jws.Verify(priv.Public()); err != nil {
				t.Errorf("%s: %v", alg, err)
			}
		}
	}
}

// bothSigners returns a new key of alg and its two signers.
func bothSigners(tb testing.TB, alg string) (crypto.Signer, jose.Signer, *compactSigner) {
	tb.Helper()
	priv, err := generate(alg)
	if err != nil {
		tb.Fatal(err)
	}
	joseSigner, err := newSigner(jose.SignatureAlgorithm(alg), "kid", "at+jwt", priv)
	if err != nil {
		tb.Fatal(err)
	}
	compact, err := newCompactSigner(alg, "kid", "at+jwt", priv)
	if err != nil {
		tb.Fatal(err)
	}
	return priv, joseSigner, compact
}

func b64Decode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compactSigner is the hand-written JWS compact serializer baton signed with
// before go-jose (issue 17), kept here only so that BenchmarkSign shows
// what go-jose costs: it encodes the protected header once per key and typ
// and builds a token in one buffer. TestCompactSignerMatches keeps it
// honest (same header, go-jose verifies its tokens).
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
