package gormstore

import (
	"context"
)

// ParseURL exposes parseURL to the external tests.
var ParseURL = parseURL

// Migrations is how many migrations a fresh database gets.
var Migrations = len(migrations)

// Pragma reads one SQLite pragma (tests).
func (s *Store) Pragma(ctx context.Context, name string) (string, error) {
	var v string
	err := s.db.WithContext(ctx).Raw("PRAGMA " + name).Scan(&v).Error
	return v, err
}
