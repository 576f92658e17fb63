package gormstore

import (
	"context"
	"sort"
	"time"

	"gorm.io/gorm"

	"github.com/batonhq/baton/models"
)

// LoginFailures reads the failure records of the keys in one query.
func (s *Store) LoginFailures(ctx context.Context, keys []string) ([]models.LoginFailure, error) {
	var rows []struct {
		Subject       string
		Failures      int
		LastFailureAt micros
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT subject, failures, last_failure_at FROM login_failures WHERE subject IN ?`, keys).
		Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]models.LoginFailure, len(rows))
	for i, r := range rows {
		out[i] = models.LoginFailure{Key: r.Subject, Failures: r.Failures, LastAt: r.LastFailureAt.Time()}
	}
	return out, nil
}

// RecordLoginFailure increments the keys' counts atomically (an upsert per
// key, in one transaction, in a fixed order so concurrent callers cannot
// deadlock).
func (s *Store) RecordLoginFailure(ctx context.Context, keys []string, now time.Time, window time.Duration) error {
	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)
	n, stale := int64(toMicros(now)), int64(toMicros(now.Add(-window)))
	return s.transaction(ctx, func(tx *gorm.DB) error {
		for _, k := range sorted {
			if err := tx.Exec(`INSERT INTO login_failures (subject, failures, last_failure_at) VALUES (?, 1, ?)
				ON CONFLICT (subject) DO UPDATE SET
					failures = CASE WHEN login_failures.last_failure_at < ? THEN 1 ELSE login_failures.failures + 1 END,
					last_failure_at = excluded.last_failure_at`, k, n, stale).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// ClearLoginFailures forgets a key's failures.
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	return translate(s.db.WithContext(ctx).Exec(`DELETE FROM login_failures WHERE subject = ?`, key).Error)
}

// PurgeLoginFailures deletes records older than before.
func (s *Store) PurgeLoginFailures(ctx context.Context, before time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM login_failures WHERE last_failure_at < ?`, int64(toMicros(before)))
	return res.RowsAffected, translate(res.Error)
}
