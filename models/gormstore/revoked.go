package gormstore

import (
	"context"
	"time"
)

// RevokeAccessToken remembers a revoked access token's jti until it
// expires; a second revocation keeps the first row.
func (s *Store) RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	return translate(s.db.WithContext(ctx).Exec(`INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?)
		ON CONFLICT (jti) DO NOTHING`, jti, int64(toMicros(expiresAt))).Error)
}

// AccessTokenRevoked looks the jti up by its primary key.
func (s *Store) AccessTokenRevoked(ctx context.Context, jti string) (bool, error) {
	var n int64
	if err := s.db.WithContext(ctx).Raw(`SELECT count(*) FROM revoked_tokens WHERE jti = ?`, jti).Scan(&n).Error; err != nil {
		return false, translate(err)
	}
	return n > 0, nil
}

// PurgeRevokedTokens deletes revocations of tokens that expired before a
// time: such a token is refused for its expiry anyway.
func (s *Store) PurgeRevokedTokens(ctx context.Context, expiredBefore time.Time, batch int) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM revoked_tokens WHERE jti IN (
			SELECT jti FROM revoked_tokens WHERE expires_at < ? LIMIT ?)`, int64(toMicros(expiredBefore)), batch)
	return res.RowsAffected, translate(res.Error)
}
