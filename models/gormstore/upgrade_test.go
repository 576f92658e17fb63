package gormstore_test

import (
	"path/filepath"
	"testing"

	"github.com/batonhq/baton/models/gormstore"
	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// upgrade tests migrations on SQLite and Postgres: a store at schema
// version from, the rows seed returns written in that schema, then the
// remaining migrations; after checks the upgraded store. seed gets the
// dialect's literal of a byte string, a format of %x.
func upgrade(t *testing.T, from int, seed func(bytes string) []string, after func(t *testing.T, s *gormstore.Store)) {
	for _, b := range []struct {
		name, bytes string
		url         func(t *testing.T) string
	}{
		{"SQLite", `X'%x'`, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "old.db") }},
		{"Postgres", `'\x%x'`, func(t *testing.T) string { return gormtest.FreshSchema(t, gormtest.PostgresURL(t)) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			s, err := gormstore.Open(ctx, b.url(t), quietLog())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.MigrateTo(ctx, from); err != nil {
				t.Fatal(err)
			}
			for _, stmt := range seed(b.bytes) {
				if err := s.Exec(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			if n, err := s.Migrate(ctx); err != nil || n != gormstore.Migrations-from {
				t.Fatalf("migrations from version %d: applied %d, %v", from, n, err)
			}
			after(t, s)
		})
	}
}
