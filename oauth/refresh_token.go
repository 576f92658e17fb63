package oauth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
)

// Refresh tokens (SPEC §3) name their session and generation and are
// authenticated by a MAC, so that a session needs one row whatever the
// number of its refreshes, and every token it ever had is recognised:
//
//	token = base64url(v ‖ gen ‖ nonce ‖ len(sid) ‖ sid ‖ tag)
//	tag   = HMAC-SHA256(K_refresh, v ‖ gen ‖ nonce ‖ len(sid) ‖ sid)
//
// v is refreshVersion, gen a big-endian uint64, nonce 32 random bytes
// drawn when the session starts (the token's 256 bits of entropy), and
// K_refresh a key derived from the KEK (Options.RefreshKey). The session
// row keeps only the generation and SHA-256(nonce) (RefreshCheck).
//
// The tag is checked before the database is read: a forged or corrupted
// token is refused and can never revoke a session. The database alone
// (no K_refresh, and only a hash of the nonce) neither yields a token nor
// lets one be forged; K_refresh alone cannot mint one either, since the
// nonce must hash to the session's RefreshCheck. A successor is computed,
// not stored: the grace window hands out token(gen+1) again.
const (
	refreshVersion = 1
	nonceBytes     = 32
	tagBytes       = sha256.Size
	maxSIDBytes    = 64
)

// refreshToken is a parsed, authenticated refresh token.
type refreshToken struct {
	sid   string
	gen   int64
	nonce []byte
}

// refreshKey mints and verifies refresh tokens.
type refreshKey []byte

// newNonce draws a session's refresh nonce.
func newNonce() []byte {
	b := make([]byte, nonceBytes)
	_, _ = rand.Read(b)
	return b
}

// refreshCheck is what the session row keeps of its nonce.
func refreshCheck(nonce []byte) []byte {
	sum := sha256.Sum256(nonce)
	return sum[:]
}

// mint returns the refresh token of generation gen of session sid.
func (k refreshKey) mint(sid string, gen int64, nonce []byte) string {
	b := make([]byte, 0, 1+8+nonceBytes+1+len(sid)+tagBytes)
	b = append(b, refreshVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(gen))
	b = append(b, nonce...)
	b = append(b, byte(len(sid)))
	b = append(b, sid...)
	b = append(b, k.tag(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (k refreshKey) tag(body []byte) []byte {
	m := hmac.New(sha256.New, k)
	m.Write(body)
	return m.Sum(nil)
}

// parse decodes and authenticates a token; ok is false for anything that
// is not a genuine token of this format (a legacy token included).
func (k refreshKey) parse(token string) (t refreshToken, ok bool) {
	if len(token) > base64.RawURLEncoding.EncodedLen(1+8+nonceBytes+1+maxSIDBytes+tagBytes) {
		return refreshToken{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	const fixed = 1 + 8 + nonceBytes + 1
	if err != nil || len(b) < fixed+tagBytes || b[0] != refreshVersion {
		return refreshToken{}, false
	}
	n := int(b[fixed-1])
	if n == 0 || n > maxSIDBytes || len(b) != fixed+n+tagBytes {
		return refreshToken{}, false
	}
	body, tag := b[:fixed+n], b[fixed+n:]
	if !hmac.Equal(tag, k.tag(body)) {
		return refreshToken{}, false
	}
	gen := binary.BigEndian.Uint64(b[1:9])
	if gen == 0 || gen > 1<<62 {
		return refreshToken{}, false
	}
	return refreshToken{sid: string(b[fixed : fixed+n]), gen: int64(gen), nonce: b[9 : 9+nonceBytes]}, true
}

// legacyNonce is the nonce a legacy session gets when its current legacy
// token is upgraded: derived from that token, so that a concurrent
// presentation of it computes the same successor.
func (k refreshKey) legacyNonce(legacy string) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte("baton legacy refresh upgrade v1\x00"))
	m.Write([]byte(legacy))
	return m.Sum(nil)
}

// isLegacyToken reports whether token has the shape of a legacy refresh
// token: 32 random bytes, base64url.
func isLegacyToken(token string) bool {
	return len(token) == base64.RawURLEncoding.EncodedLen(tokenBytes)
}
