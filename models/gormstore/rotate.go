package gormstore

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/batonhq/baton/models"
)

// rotatePostgres is the refresh hot path as one statement. Alone it is one
// round trip and one transaction; under concurrency it goes in a batch with
// the other waiting rotations, which share one round trip and one
// transaction (batch.go). The first step locks the session row
// (every other writer of a rotation locks it first too) while checking that
// it may rotate; the second spends the token if it is still current when
// its row lock is taken (READ COMMITTED re-checks the condition against the
// newest committed row); the third inserts the successor. A racing
// presentation that lost finds no spent row and returns nothing.
//
// The session is found through a scalar subquery on the token's primary
// key, so that the plan (a generic one: the statement is prepared) cannot
// start from the sessions table: written as a join, the planner came to
// scan every live session once the table had grown, and each refresh cost
// as many index lookups as there were live sessions.
const rotatePostgres = `WITH sess AS (
	UPDATE sessions s SET last_used_at = $1
	WHERE s.id = (SELECT t.session_id FROM refresh_tokens t WHERE t.hash = $2 AND t.spent_at IS NULL)
		AND s.ended_at IS NULL AND s.client_id = $3 AND s.expires_at > $1 AND s.last_used_at > $4
		AND s.user_id = (SELECT u.id FROM users u WHERE u.id = s.user_id AND NOT u.disabled)
	RETURNING s.id, s.user_id, s.client_id, s.scope, s.created_at, s.expires_at
), spent AS (
	UPDATE refresh_tokens t SET spent_at = $1, successor_hash = $5
	FROM sess WHERE t.hash = $2 AND t.spent_at IS NULL AND t.session_id = sess.id
	RETURNING t.session_id
), ins AS (
	INSERT INTO refresh_tokens (hash, session_id, created_at, sealed) SELECT $5, session_id, $1, $6 FROM spent
)
SELECT sess.id, sess.user_id, sess.client_id, sess.scope, sess.created_at, sess.expires_at
FROM sess JOIN spent ON spent.session_id = sess.id`

// The same checks on SQLite, as three statements in one write transaction
// (BEGIN IMMEDIATE: no other writer runs meanwhile).
const (
	touchSessionSQLite = `UPDATE sessions SET last_used_at = ?
	WHERE id = (SELECT session_id FROM refresh_tokens WHERE hash = ? AND spent_at IS NULL)
		AND ended_at IS NULL AND client_id = ? AND expires_at > ? AND last_used_at > ?
		AND user_id IN (SELECT id FROM users WHERE NOT disabled)`
	// RETURNING through the driver cost more than this second statement.
	touchedSessionSQLite = `SELECT id, user_id, client_id, scope, created_at, expires_at FROM sessions
	WHERE id = (SELECT session_id FROM refresh_tokens WHERE hash = ?)`
	spendToken = `UPDATE refresh_tokens SET spent_at = ?, successor_hash = ? WHERE hash = ? AND spent_at IS NULL`
)

// RotateRefreshToken is models.Store's one-step rotation: on Postgres the
// statement above, written with other waiting rotations (batch.go); on
// SQLite the same checks in one local transaction. Both come back through
// Store.retry, so their errors are already translated.
func (s *Store) RotateRefreshToken(ctx context.Context, r models.Rotation) (models.Session, error) {
	var row sessionRow
	var err error
	if s.dialect == dialectPostgres {
		row, err = s.rotations.rotate(ctx, r)
	} else {
		row, err = s.rotateSQLite(ctx, r)
	}
	if err != nil {
		return models.Session{}, err
	}
	row.LastUsedAt = toMicros(r.Next.CreatedAt)
	return row.model(), nil
}

func (s *Store) rotateSQLite(ctx context.Context, r models.Rotation) (sessionRow, error) {
	now, usedAfter := int64(toMicros(r.Next.CreatedAt)), int64(toMicros(r.UsedAfter))
	var row sessionRow
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(touchSessionSQLite, now, r.Hash, r.ClientID, now, usedAfter)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.ErrNotRotated
		}
		if err := tx.Raw(touchedSessionSQLite, r.Hash).Scan(&row).Error; err != nil {
			return err
		}
		res = tx.Exec(spendToken, now, r.Next.Hash, r.Hash)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("gormstore: rotate: %w: token already spent", models.ErrConflict)
		}
		next := newTokenRow(r.Next)
		next.SessionID, next.Sealed = row.ID, r.SealedSuccessor
		return tx.Create(&next).Error
	})
	return row, err
}
