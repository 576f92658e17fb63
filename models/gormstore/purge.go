package gormstore

import (
	"context"
	"time"

	"github.com/batonhq/baton/models"
)

// endExpired ends the sessions past their absolute or idle limit, at the
// moment the limit was reached: at most a batch of each kind. Each kind is
// read in the order of an index of live sessions: by expires_at, and by
// used_day, the day of last_used_at (schemaV8), which bounds what the idle
// search reads to the sessions last used on or before the idle limit's day.
// The order is what makes the planner take the indexes: it cannot tell
// that the ended sessions, which the indexes leave out, are the ones whose
// limits have passed, and without it reads the whole table for a LIMIT it
// expects to reach at once (TestIdleSweepPlanUsesIndexes). The UPDATE checks
// the limits again: a session chosen by the search may be ended or
// refreshed before its row lock is had, and READ COMMITTED then re-checks
// only the UPDATE's own conditions on the newest row
// (TestSweepLeavesSessionsChangedMeanwhile). There "live" is written
// coalesce(ended_at, 0) = 0, which no index answers: with ended_at IS NULL
// the planner read every live session through a partial index to apply
// it, instead of finding the chosen ones by their key.
const endExpired = `UPDATE sessions SET
		end_reason = CASE WHEN expires_at <= last_used_at + ? THEN ? ELSE ? END,
		ended_at = CASE WHEN expires_at <= last_used_at + ? THEN expires_at ELSE last_used_at + ? END
	WHERE coalesce(ended_at, 0) = 0 AND (expires_at <= ? OR last_used_at <= ?) AND id IN (
		SELECT id FROM (SELECT id FROM sessions WHERE ended_at IS NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?) absolute
		UNION ALL
		SELECT id FROM (SELECT id FROM sessions WHERE ended_at IS NULL AND used_day <= ? AND last_used_at <= ?
			ORDER BY used_day LIMIT ?) idle)`

// EndExpiredSessions records the end of sessions past their absolute or
// idle limit, at the moment the limit was reached (endExpired); batch
// bounds each kind.
func (s *Store) EndExpiredSessions(ctx context.Context, now time.Time, idle time.Duration, batch int) (int64, error) {
	n, idleUS := int64(toMicros(now)), idle.Microseconds()
	usedBefore := n - idleUS // integer division truncates alike in Go and SQL: day order follows time order
	res := s.db.WithContext(ctx).Exec(endExpired,
		idleUS, models.EndAbsolute, models.EndIdle, idleUS, idleUS, n, usedBefore,
		n, batch, usedBefore/dayMicros, usedBefore, batch)
	return res.RowsAffected, translate(res.Error)
}

// PurgeTokens deletes refresh tokens of sessions that ended before a time.
func (s *Store) PurgeTokens(ctx context.Context, endedBefore time.Time, batch int) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM refresh_tokens WHERE hash IN (
			SELECT t.hash FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
			WHERE s.ended_at < ? LIMIT ?)`, int64(toMicros(endedBefore)), batch)
	return res.RowsAffected, translate(res.Error)
}

// PurgeSessions deletes sessions that ended before a time; their tokens go
// with them (ON DELETE CASCADE).
func (s *Store) PurgeSessions(ctx context.Context, endedBefore time.Time, batch int) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM sessions WHERE id IN (
			SELECT id FROM sessions WHERE ended_at < ? LIMIT ?)`, int64(toMicros(endedBefore)), batch)
	return res.RowsAffected, translate(res.Error)
}

// SessionFootprint reports what the database keeps of one session: its
// rows (the session's and its legacy refresh tokens') and the bytes of the
// tables that hold them (Postgres: with their indexes and TOAST; SQLite:
// the whole database file), for tests and benchmarks of storage growth.
func (s *Store) SessionFootprint(ctx context.Context, id string) (rows int64, size int64, err error) {
	db := s.db.WithContext(ctx)
	err = db.Raw(`SELECT (SELECT count(*) FROM sessions WHERE id = ?) + (SELECT count(*) FROM refresh_tokens WHERE session_id = ?)`, id, id).Scan(&rows).Error
	if err != nil {
		return 0, 0, translate(err)
	}
	if s.dialect == dialectPostgres {
		err = db.Raw(`SELECT pg_total_relation_size('sessions') + pg_total_relation_size('refresh_tokens')`).Scan(&size).Error
	} else {
		err = db.Raw(`SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&size).Error
	}
	return rows, size, translate(err)
}
