// Package gormtest gives tests a fresh, migrated gormstore on SQLite or
// Postgres (BATON_TEST_DATABASE_URL), and the Postgres scratch schemas and
// databases they run in. Only tests import it.
package gormtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonhq/baton/models/gormstore"
)

// Backend names a database and opens a fresh, migrated store on it.
type Backend struct {
	Name string
	Open func(testing.TB) *gormstore.Store
}

// Backends lists SQLite and Postgres.
func Backends() []Backend {
	return []Backend{{"SQLite", OpenSQLite}, {"Postgres", OpenPostgres}}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// OpenSQLite returns a migrated store on a file in t.TempDir().
func OpenSQLite(t testing.TB) *gormstore.Store {
	t.Helper()
	return openMigrated(t, "sqlite:"+filepath.Join(t.TempDir(), "baton.db"))
}

// PostgresURL returns BATON_TEST_DATABASE_URL. When it is unset the test is
// skipped, or fails under CI=true, where Postgres tests must run.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("BATON_TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("BATON_TEST_DATABASE_URL is not set: Postgres tests must run in CI")
		}
		t.Skip("BATON_TEST_DATABASE_URL is not set; skipping Postgres")
	}
	return u
}

// OpenPostgresAt returns a migrated store on the given database URL.
func OpenPostgresAt(t testing.TB, databaseURL string) *gormstore.Store {
	t.Helper()
	return openMigrated(t, databaseURL)
}

// OpenPostgres returns a migrated store in a fresh schema of the database
// named by BATON_TEST_DATABASE_URL; the schema is dropped when the test ends.
func OpenPostgres(t testing.TB) *gormstore.Store {
	t.Helper()
	return openMigrated(t, FreshSchema(t, PostgresURL(t)))
}

// FreshSchema creates a schema with a random name and returns base with its
// search_path pointing there; the schema is dropped when the test ends.
func FreshSchema(t testing.TB, base string) string {
	t.Helper()
	schema := scratch(t, base, "CREATE SCHEMA %s", "DROP SCHEMA %s CASCADE")
	u := parseURL(t, base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// FreshDatabase creates a database of the test's own (so that a test can
// cut it off without disturbing others) and returns its URL; it is dropped
// when the test ends.
func FreshDatabase(t testing.TB, base string) string {
	t.Helper()
	name := scratch(t, base, "CREATE DATABASE %s", "DROP DATABASE %s WITH (FORCE)")
	u := parseURL(t, base)
	u.Path = "/" + name
	return u.String()
}

// scratch creates an object with a random name through the Postgres at
// base, and drops it when the test ends.
func scratch(t testing.TB, base, create, drop string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin, err := gormstore.Open(ctx, base, quiet())
	if err != nil {
		t.Fatalf("Postgres at BATON_TEST_DATABASE_URL is unreachable: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "baton_test_" + hex.EncodeToString(b)
	if err := admin.Exec(ctx, fmt.Sprintf(create, name)); err != nil {
		admin.Close()
		t.Fatalf("%s: %v", fmt.Sprintf(create, name), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := admin.Exec(ctx, fmt.Sprintf(drop, name)); err != nil {
			t.Errorf("%s: %v", fmt.Sprintf(drop, name), err)
		}
		admin.Close()
	})
	return name
}

func parseURL(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Cut makes a database refuse connections and ends the ones it has, as if
// its server went away; the returned function lets it back.
func Cut(t testing.TB, base, databaseURL string) (restore func()) {
	t.Helper()
	name := parseURL(t, databaseURL).Path[1:]
	ctx := context.Background()
	admin, err := gormstore.Open(ctx, base, quiet())
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		"ALTER DATABASE " + name + " ALLOW_CONNECTIONS false",
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name + "'",
	} {
		if err := admin.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return func() {
		defer admin.Close()
		if err := admin.Exec(ctx, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true"); err != nil {
			t.Errorf("restore %s: %v", name, err)
		}
	}
}

func openMigrated(t testing.TB, databaseURL string) *gormstore.Store {
	t.Helper()
	s, err := gormstore.Open(t.Context(), databaseURL, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}
