package oauth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// tokenBytes is the entropy of refresh tokens: 256 bits (SPEC §3).
const tokenBytes = 32

// newOpaque returns a random base64url string of n random bytes.
func newOpaque(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newID returns a random 128-bit identifier in hex (sessions, users): safe
// to paste into a command line, where a leading "-" would read as a flag.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// hashToken is the lookup key of a refresh token. A fast hash is enough:
// the token has 256 bits of entropy, so the hash cannot be inverted by search.
func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// successorKey derives the key that seals a token's successor from the
// token itself. The database therefore never holds anything that opens the
// successor: only a client presenting the spent token can.
func successorKey(token string) ([]byte, error) {
	return hkdf.Key(sha256.New, []byte(token), nil, "baton refresh successor v1", 32)
}

// openSuccessor decrypts a successor sealed under a key derived from the
// token, as rotations before schema 7 stored it (the tests' sealSuccessor).
func openSuccessor(token string, sealed []byte) (string, error) {
	aead, err := successorAEAD(token)
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize() {
		return "", errors.New("sealed successor too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], hashToken(token))
	if err != nil {
		return "", fmt.Errorf("open successor: %w", err)
	}
	return string(plain), nil
}

func successorAEAD(token string) (cipher.AEAD, error) {
	key, err := successorKey(token)
	if err != nil {
		return nil, fmt.Errorf("derive successor key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
