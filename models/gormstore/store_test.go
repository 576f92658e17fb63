package gormstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore"
	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/models/storetest"
)

func TestConformance(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) storetest.Store { return b.Open(t) })
		})
	}
}

func TestMigrateIsRepeatable(t *testing.T) {
	for _, b := range gormtest.Backends() {
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
	url := gormtest.FreshSchema(t, gormtest.PostgresURL(t))
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
	s := gormtest.OpenSQLite(t)
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000", "synchronous": "1"} {
		got, err := s.Pragma(t.Context(), pragma)
		if err != nil || !strings.EqualFold(got, want) {
			t.Errorf("PRAGMA %s = %q (%v), want %q", pragma, got, err, want)
		}
	}
}

func FuzzDatabaseURL(f *testing.F) {
	for _, s := range []string{"sqlite:baton.db", "sqlite:", "postgres://u@h/db", "postgresql://h", "mysql://x", "sqlite:a?b", "sqlite://rel/x.db?synchronous=full", "sqlite:///abs.db", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		dialect, dsn, err := gormstore.ParseURL(raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "gormstore: ") {
				t.Fatalf("ParseURL(%q): error %q lacks the package prefix", raw, err)
			}
			return
		}
		switch {
		case dialect == "sqlite" && strings.HasPrefix(raw, "sqlite:") && len(raw) > len("sqlite:"):
			// The pragmas and the immediate transactions cannot be dropped by the path.
			if !strings.HasPrefix(dsn, "file:") || strings.Count(dsn, "?") != 1 || !strings.HasSuffix(dsn, "&_txlock=immediate") {
				t.Fatalf("ParseURL(%q): sqlite DSN %q", raw, dsn)
			}
			// The store opens the file beside which the KEK is kept.
			if file, ok := gormstore.SQLiteFile(raw); !ok || !strings.HasPrefix(dsn, "file:"+file+"?") {
				t.Fatalf("ParseURL(%q): DSN %q, but SQLiteFile says %q", raw, dsn, file)
			}
		case dialect == "postgres" && (strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://")):
			if !strings.Contains(dsn, "connect_timeout=") {
				t.Fatalf("ParseURL(%q): postgres DSN %q has no connect_timeout", raw, dsn)
			}
		default:
			t.Fatalf("ParseURL(%q) accepted as %q", raw, dialect)
		}
	})
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// BenchmarkRotate measures the refresh rotation in the store: each parallel
// worker rotates its own session's chain, always presenting the newest
// generation, by the one-step rotation (the hot path: one round trip on
// Postgres; SQLite has none and falls to the full path) and by the full
// rules (UseRefresh: a transaction of two statements).
func BenchmarkRotate(b *testing.B) {
	rotations := map[string]func(ctx context.Context, s *gormstore.Store, id string, gen int64) error{
		"OneStep": func(ctx context.Context, s *gormstore.Store, id string, gen int64) error {
			now := time.Now()
			_, ok, err := s.RotateRefresh(ctx, models.Rotation{SessionID: id, Gen: gen, Check: seedCheck, ClientID: "c",
				At: now, UsedAfter: now.Add(-time.Hour)})
			if err == nil && !ok {
				return s.UseRefresh(ctx, models.RefreshKey{SessionID: id}, func(models.RefreshState) (models.RefreshChange, error) {
					return models.RefreshChange{Rotate: true, At: time.Now()}, nil
				})
			}
			return err
		},
		"FullRules": func(ctx context.Context, s *gormstore.Store, id string, gen int64) error {
			return s.UseRefresh(ctx, models.RefreshKey{SessionID: id}, func(models.RefreshState) (models.RefreshChange, error) {
				return models.RefreshChange{Rotate: true, At: time.Now()}, nil
			})
		},
	}
	for _, be := range gormtest.Backends() {
		for _, path := range []string{"OneStep", "FullRules"} {
			b.Run(be.Name+"/"+path, func(b *testing.B) {
				s := be.Open(b)
				ctx := b.Context()
				if err := s.CreateUser(ctx, models.User{ID: "u", Username: "u", PasswordHash: "h", CreatedAt: time.Now()}); err != nil {
					b.Fatal(err)
				}
				if err := s.CreateClient(ctx, models.Client{ID: "c", Public: true, Grants: []string{"refresh_token"}, CreatedAt: time.Now()}); err != nil {
					b.Fatal(err)
				}
				var n atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					id := fmt.Sprintf("s%d", n.Add(1))
					now := time.Now()
					if _, err := s.CreateSession(ctx, models.Session{ID: id, UserID: "u", ClientID: "c", CreatedAt: now, LastUsedAt: now,
						ExpiresAt: now.Add(time.Hour), RefreshGen: 1, RefreshCheck: seedCheck}, 0); err != nil {
						b.Fatal(err)
					}
					for gen := int64(1); pb.Next(); gen++ {
						if err := rotations[path](ctx, s, id, gen); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}

// TestTranslateOnce: an error that went through Store.retry (which
// translates) may be translated again by its caller without its message
// growing a second prefix or losing its sentinel.
func TestTranslateOnce(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{gorm.ErrRecordNotFound, models.ErrNotFound},
		{gorm.ErrDuplicatedKey, models.ErrAlreadyExists},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, models.ErrUnavailable},
	} {
		once := gormstore.Translate(tc.err)
		twice := gormstore.Translate(once)
		if !errors.Is(twice, tc.want) || twice.Error() != once.Error() {
			t.Errorf("%v: once %q, twice %q; want %v, unchanged", tc.err, once, twice, tc.want)
		}
	}
}

// TestSQLiteFilesPrivate: a new SQLite database, its -wal and its -shm file
// are created 0600, like the KEK beside them, whatever the umask allows.
func TestSQLiteFilesPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "baton.db")
	s, err := gormstore.Open(t.Context(), "sqlite:"+path, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(t.Context()); err != nil { // writes: the WAL and the shared memory exist
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(f), mode)
		}
	}
}

// TestSQLiteFile: every spelling of a SQLite URL names one file, which the
// store opens and beside which the local KEK is kept.
func TestSQLiteFile(t *testing.T) {
	for raw, want := range map[string]string{
		"sqlite:baton.db":                            "baton.db",
		"sqlite:relative/path.db":                    "relative/path.db",
		"sqlite://relative/path.db":                  "relative/path.db",
		"sqlite:///abs/path.db":                      "/abs/path.db",
		"sqlite:/abs/path.db":                        "/abs/path.db",
		"sqlite:baton.db?synchronous=normal":         "baton.db",
		"sqlite://relative/path.db?synchronous=FULL": "relative/path.db",
	} {
		got, ok := gormstore.SQLiteFile(raw)
		if !ok || got != want {
			t.Errorf("SQLiteFile(%q) = %q, %v; want %q", raw, got, ok, want)
		}
		_, dsn, err := gormstore.ParseURL(raw)
		if err != nil || !strings.HasPrefix(dsn, "file:"+want+"?") {
			t.Errorf("ParseURL(%q) = %q, %v; want the file %q", raw, dsn, err, want)
		}
	}
	for _, raw := range []string{"sqlite:", "sqlite://", "sqlite:?synchronous=full", "sqlite:a.db?synchronous=off", "sqlite:a.db?mode=memory", "postgres://h/db"} {
		if p, ok := gormstore.SQLiteFile(raw); ok {
			t.Errorf("SQLiteFile(%q) = %q, want none", raw, p)
		}
	}
}

// TestSQLiteSynchronous: the synchronous pragma in effect on the pooled
// connection is NORMAL (1) by default and FULL (2) when the URL asks.
func TestSQLiteSynchronous(t *testing.T) {
	for query, want := range map[string]string{"": "1", "?synchronous=full": "2", "?synchronous=FULL": "2", "?synchronous=normal": "1"} {
		s, err := gormstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "baton.db")+query, quietLog())
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Pragma(t.Context(), "synchronous")
		s.Close()
		if err != nil || got != want {
			t.Errorf("%q: PRAGMA synchronous = %q (%v), want %s", query, got, err, want)
		}
	}
}
