package gormstore_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore"
	"github.com/batonhq/baton/models/storetest"
)

func TestConformance(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) models.Store { return b.Open(t) })
		})
	}
}

func TestMigrateIsRepeatable(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t) // migrated once already
			n, err := s.Migrate(t.Context())
			if err != nil || n != 0 {
				t.Fatalf("second migrate applied %d: %v", n, err)
			}
		})
	}
}

func TestConcurrentMigratePostgres(t *testing.T) {
	url := storetest.FreshSchema(t, storetest.PostgresURL(t))
	var wg sync.WaitGroup
	applied := make([]int, 4)
	errs := make([]error, 4)
	for i := range applied {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := gormstore.Open(context.Background(), url, quietLog())
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			applied[i], errs[i] = s.Migrate(context.Background())
		}()
	}
	wg.Wait()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		total += applied[i]
	}
	if total != gormstore.Migrations {
		t.Fatalf("%d migrations applied by four instances, want %d: each once", total, gormstore.Migrations)
	}
}

func TestSQLitePragmas(t *testing.T) {
	s := storetest.OpenSQLite(t)
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000", "synchronous": "1"} {
		got, err := s.Pragma(t.Context(), pragma)
		if err != nil || !strings.EqualFold(got, want) {
			t.Errorf("PRAGMA %s = %q (%v), want %q", pragma, got, err, want)
		}
	}
}

func FuzzDatabaseURL(f *testing.F) {
	for _, s := range []string{"sqlite:baton.db", "sqlite:", "postgres://u@h/db", "postgresql://h", "mysql://x", "sqlite:a?b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		dialect, _, err := gormstore.ParseURL(raw)
		if err != nil {
			return
		}
		switch {
		case dialect == "sqlite" && strings.HasPrefix(raw, "sqlite:") && len(raw) > len("sqlite:"):
		case dialect == "postgres" && (strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://")):
		default:
			t.Fatalf("ParseURL(%q) accepted as %q", raw, dialect)
		}
	})
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
