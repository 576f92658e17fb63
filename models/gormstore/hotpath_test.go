package gormstore_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore"
	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// seedCheck is the nonce hash of session s1.
var seedCheck = []byte("check-s1-check-s1-check-s1-check")

// seedSession stores a user u, a client c and session s1 at generation 1.
func seedSession(t *testing.T, s models.Store) {
	t.Helper()
	ctx, now := t.Context(), time.Now()
	if err := s.CreateUser(ctx, models.User{ID: "u", Username: "u", PasswordHash: "h", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClient(ctx, models.Client{ID: "c", Public: true, Grants: []string{"refresh_token"}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	sess := models.Session{ID: "s1", UserID: "u", ClientID: "c", CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour),
		RefreshGen: 1, RefreshCheck: seedCheck}
	if _, err := s.CreateSession(ctx, sess, 0); err != nil {
		t.Fatal(err)
	}
}

// TestRotationStatements pins the cost of the refresh paths in statements
// (BEGIN and COMMIT of the full path come on top): the one-step rotation
// is one statement on Postgres; the full path reads and locks the session
// with its user, then writes one UPDATE.
func TestRotationStatements(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			seedSession(t, s)
			n, err := s.CountStatements()
			if err != nil {
				t.Fatal(err)
			}
			decide := func(st models.RefreshState) (models.RefreshChange, error) {
				if st.Session.RefreshGen != 1 {
					return models.RefreshChange{}, nil
				}
				return models.RefreshChange{Rotate: true, At: time.Now()}, nil
			}
			for _, step := range []struct {
				name string
				want int64
			}{{"rotate", 2}, {"replay", 1}} {
				n.Store(0)
				if err := s.UseRefresh(t.Context(), models.RefreshKey{SessionID: "s1"}, decide); err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				if got := n.Load(); got != step.want {
					t.Errorf("%s ran %d statements, want %d", step.name, got, step.want)
				}
			}
			if got, err := s.Session(t.Context(), "s1"); err != nil || got.RefreshGen != 2 {
				t.Fatalf("generation %d, %v", got.RefreshGen, err)
			}
		})
	}
}

// TestSQLiteTwoProcesses: two stores on one file stand for baton serve and a
// CLI command. Each write transaction reads then writes; because BEGIN
// takes the write lock (_txlock=immediate) and waits for it (busy_timeout),
// none fails with "database is locked" and no update is lost.
func TestSQLiteTwoProcesses(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
	stores := make([]*gormstore.Store, 2)
	for i := range stores {
		s, err := gormstore.Open(t.Context(), url, quietLog())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = stores[i%2].UpdateKeys(t.Context(), func(ks []models.SigningKey) ([]models.SigningKey, error) {
				k := models.SigningKey{ID: fmt.Sprintf("k%02d", len(ks)), Alg: "ES256", State: models.KeyNext,
					PublicJWK: []byte("{}"), SealedKey: []byte("x"), CreatedAt: time.Now()}
				return append(ks, k), nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	ks, err := stores[0].SigningKeys(t.Context())
	if err != nil || len(ks) != n {
		t.Fatalf("%d keys (%v), want %d: updates were lost", len(ks), err, n)
	}
}
