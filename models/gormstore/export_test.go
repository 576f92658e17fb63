package gormstore

import (
	"context"
	"fmt"
	"sync/atomic"

	"gorm.io/gorm"
)

// ParseURL exposes parseURL to the external tests.
var ParseURL = parseURL

// Migrations is how many migrations a fresh database gets.
var Migrations = len(migrations)

// MigrateTo applies the migrations up to a version (tests of a migration).
func (s *Store) MigrateTo(ctx context.Context, version int) (int, error) {
	return s.migrate(ctx, version)
}

// Pragma reads one SQLite pragma (tests).
func (s *Store) Pragma(ctx context.Context, name string) (string, error) {
	var v string
	err := s.db.WithContext(ctx).Raw("PRAGMA " + name).Scan(&v).Error
	return v, err
}

// CountStatements makes the store count every SQL statement it sends from
// now on (BEGIN and COMMIT excluded) and returns the counter.
func (s *Store) CountStatements() (*atomic.Int64, error) {
	n := new(atomic.Int64)
	count := func(*gorm.DB) { n.Add(1) }
	cb := s.db.Callback()
	for name, err := range map[string]error{
		"create": cb.Create().After("gorm:create").Register("test:count", count),
		"query":  cb.Query().After("gorm:query").Register("test:count", count),
		"update": cb.Update().After("gorm:update").Register("test:count", count),
		"delete": cb.Delete().After("gorm:delete").Register("test:count", count),
		"row":    cb.Row().After("gorm:row").Register("test:count", count),
		"raw":    cb.Raw().After("gorm:raw").Register("test:count", count),
	} {
		if err != nil {
			return nil, fmt.Errorf("register %s callback: %w", name, err)
		}
	}
	return n, nil
}

// RotatePostgres is the hot-path statement (plan tests).
const RotatePostgres = rotatePostgres

// EndExpired is the purge's statement ending sessions past their limits,
// with ? placeholders (plan tests).
const EndExpired = endExpired

// DayMicros is a day in microseconds: sessions.used_day's unit.
const DayMicros = dayMicros

// Translate is translate (tests of the error mapping).
var Translate = translate
