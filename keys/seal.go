package keys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/batonhq/baton/models"
)

// kekSize is the size of the key-encryption key: AES-256.
const kekSize = 32

// ParseKEK decodes a base64 key-encryption key (standard or URL alphabet,
// padded or not) of exactly 32 bytes.
func ParseKEK(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != kekSize {
				return nil, fmt.Errorf("keys: KEK decodes to %d bytes, want %d", len(b), kekSize)
			}
			return b, nil
		}
	}
	return nil, errors.New("keys: KEK is not base64")
}

// GenerateKEK returns a new random key-encryption key.
func GenerateKEK() ([]byte, error) {
	k := make([]byte, kekSize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("keys: generate KEK: %w", err)
	}
	return k, nil
}

// seal encrypts a private key with AES-256-GCM under the KEK. The key id and
// algorithm are authenticated, so a sealed key cannot be moved to another row.
func seal(kek, plaintext []byte, kid, alg string) ([]byte, error) {
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plaintext, aad(kid, alg)), nil
}

// ErrWrongKEK: the key-encryption key does not open a stored signing key.
var ErrWrongKEK = errors.New("keys: the KEK does not decrypt signing key")

// openKey decrypts a stored key's private part (PKCS #8 DER).
func openKey(kek []byte, k models.SigningKey) ([]byte, error) {
	der, err := open(kek, k.SealedKey, k.ID, k.Alg)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrWrongKEK, k.ID, err)
	}
	return der, nil
}

// open decrypts what seal produced.
func open(kek, sealed []byte, kid, alg string) ([]byte, error) {
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("sealed key too short")
	}
	n := aead.NonceSize()
	return aead.Open(nil, sealed[:n], sealed[n:], aad(kid, alg))
}

func aad(kid, alg string) []byte { return []byte("baton signing key v1\x00" + kid + "\x00" + alg) }

func newAEAD(kek []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("keys: KEK: %w", err)
	}
	return cipher.NewGCM(block)
}

// Rekey re-seals every stored key under newKEK, in one transaction under
// the key lock. The current KEK must open every key; nothing is written
// otherwise.
func Rekey(ctx context.Context, store Store, oldKEK, newKEK []byte) (int, error) {
	if len(newKEK) != kekSize {
		return 0, fmt.Errorf("keys: new KEK: want %d bytes, got %d", kekSize, len(newKEK))
	}
	n := 0
	err := store.UpdateKeys(ctx, func(ks []models.SigningKey) ([]models.SigningKey, error) {
		n = 0
		out := make([]models.SigningKey, len(ks))
		for i, k := range ks {
			der, err := openKey(oldKEK, k)
			if err != nil {
				return nil, err
			}
			if k.SealedKey, err = seal(newKEK, der, k.ID, k.Alg); err != nil {
				return nil, err
			}
			out[i] = k
			n++
		}
		return out, nil
	})
	return n, err
}
