package gormstore

import (
	"context"

	"github.com/batonhq/baton/models"
)

// rotatePostgres is the refresh hot path as one statement: a one-row
// UPDATE of the session, like pgbench's, that applies only when the rules
// (oauth's decideRefresh) would rotate. The token's generation and nonce
// hash must be the session's; the session live, issued to the presenting
// client, before its absolute limit and not idle; the user enabled. READ
// COMMITTED re-checks the conditions against the newest committed row once
// the row lock is taken, so of racing presentations of one generation
// exactly one rotates; the others find no row and take the full path. None
// of the columns it writes is indexed, so the update is HOT: no index
// entry and, the old version being pruned from its page, no growth.
// Alone it is one round trip and one transaction; under concurrency it goes
// in a batch with the other waiting rotations (batch.go).
const rotatePostgres = `UPDATE sessions s SET refresh_gen = s.refresh_gen + 1, rotated_at = $1, last_used_at = $1
	WHERE s.id = $2 AND s.refresh_gen = $3 AND s.refresh_check = $4
		AND s.ended_at IS NULL AND s.client_id = $5 AND s.expires_at > $1 AND s.last_used_at > $6
		AND NOT (SELECT u.disabled FROM users u WHERE u.id = s.user_id)
	RETURNING s.id, s.user_id, s.client_id, s.scope, s.created_at, s.expires_at, s.auth_time, s.refresh_gen, s.refresh_check`

// RotateRefresh is models.Store's one-step rotation: on Postgres the
// statement above, written with other waiting rotations (batch.go). SQLite
// has no fast path (false): its full path is one local transaction, as
// cheap, so the rules run in one place there.
func (s *Store) RotateRefresh(ctx context.Context, r models.Rotation) (models.Session, bool, error) {
	if s.dialect != dialectPostgres {
		return models.Session{}, false, nil
	}
	row, rotated, err := s.rotations.rotate(ctx, r)
	if err != nil || !rotated {
		return models.Session{}, false, err
	}
	row.LastUsedAt, row.RotatedAt = toMicros(r.At), toMicros(r.At)
	return row.model(), true, nil
}
