package gormstore

import (
	"context"

	"github.com/batonhq/baton/models"
)

// rotatePostgres is the refresh hot path: one UPDATE of the sessions a
// batch of rotations names (batch.go), each row changed only where the
// rules (oauth's decideRefresh) would rotate: the token's generation and
// nonce hash must be the session's; the session live, issued to the
// presenting client, before its absolute limit and not idle; the user
// enabled. Each array holds one field of the rotations, in the order of
// their sessions, each session at most once; a row comes back for each
// session rotated. READ COMMITTED re-checks the conditions against the
// newest committed row once the row lock is taken, so of racing
// presentations of one generation exactly one rotates; the others find no
// row and take the full path. None of the columns it writes is indexed, so
// the update is HOT: no index entry and, the old version being pruned from
// its page, no growth. One statement for the batch, not one per rotation,
// because Postgres pays per statement (bind, executor start and end) more
// than per row. "Live" is written coalesce(ended_at, 0) = 0, not ended_at
// IS NULL: the latter lets the planner read the partial index of live
// sessions (an entry per live session per batch) when the table's
// statistics are missing. The plan must be a nested loop over the batch
// with a plain index scan of the primary key (TestRotatePlanUsesPrimaryKey,
// -tags plans): a bitmap scan would not mark the index entries of dead row
// versions as dead, and every batch would visit them again until VACUUM.
const rotatePostgres = `UPDATE sessions s SET refresh_gen = s.refresh_gen + 1, rotated_at = r.at, last_used_at = r.at
	FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::text[], $5::bigint[], $6::bigint[]) AS r(id, gen, chk, client_id, at, used_after)
	WHERE s.id = r.id AND s.refresh_gen = r.gen AND s.refresh_check = r.chk
		AND coalesce(s.ended_at, 0) = 0 AND s.client_id = r.client_id AND s.expires_at > r.at AND s.last_used_at > r.used_after
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
