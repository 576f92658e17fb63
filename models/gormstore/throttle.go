package gormstore

import (
	"context"
	"errors"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/batonhq/baton/models"
)

// errMustWait rolls back a reservation that wait refused.
var errMustWait = errors.New("gormstore: login attempt must wait")

// ReserveLoginAttempt reads the keys' records under lock, lets wait decide
// and counts the attempt, in one transaction. SQLite's transactions take
// the write lock at BEGIN (_txlock=immediate), which serialises them; on
// Postgres a missing record is first inserted at zero so that every key has
// a row to lock, and the rows are locked in key order (no deadlocks).
func (s *Store) ReserveLoginAttempt(ctx context.Context, keys []string, now time.Time, window time.Duration,
	wait func([]models.LoginFailure) time.Duration) (time.Duration, error) {
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	n, stale := int64(toMicros(now)), int64(toMicros(now.Add(-window)))
	var d time.Duration
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		q := `SELECT subject, failures, last_failure_at FROM login_failures WHERE subject IN ? ORDER BY subject`
		if s.dialect == dialectPostgres {
			for _, k := range sorted {
				if err := tx.Exec(`INSERT INTO login_failures (subject, failures, last_failure_at) VALUES (?, 0, 0)
					ON CONFLICT (subject) DO NOTHING`, k).Error; err != nil {
					return err
				}
			}
			q += ` FOR UPDATE`
		}
		var rows []struct {
			Subject       string
			Failures      int
			LastFailureAt micros
		}
		if err := tx.Raw(q, sorted).Scan(&rows).Error; err != nil {
			return err
		}
		records := make([]models.LoginFailure, 0, len(rows))
		for _, r := range rows {
			if r.Failures > 0 {
				records = append(records, models.LoginFailure{Key: r.Subject, Failures: r.Failures, LastAt: r.LastFailureAt.Time()})
			}
		}
		if d = wait(records); d > 0 {
			return errMustWait // roll back the rows inserted at zero
		}
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
	if errors.Is(err, errMustWait) {
		return d, nil
	}
	return 0, err
}

// ReleaseLoginAttempt deletes the records of clear and takes one off the
// counts of release, key by key in order (the order reservations lock in).
func (s *Store) ReleaseLoginAttempt(ctx context.Context, clear, release []string) error {
	all := slices.Concat(clear, release)
	slices.Sort(all)
	all = slices.Compact(all)
	return s.transaction(ctx, func(tx *gorm.DB) error {
		for _, k := range all {
			q := `DELETE FROM login_failures WHERE subject = ?`
			if !slices.Contains(clear, k) {
				if err := tx.Exec(`UPDATE login_failures SET failures = failures - 1 WHERE subject = ?`, k).Error; err != nil {
					return err
				}
				q += ` AND failures <= 0`
			}
			if err := tx.Exec(q, k).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// PurgeLoginFailures deletes records older than before.
func (s *Store) PurgeLoginFailures(ctx context.Context, before time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM login_failures WHERE last_failure_at < ?`, int64(toMicros(before)))
	return res.RowsAffected, translate(res.Error)
}
