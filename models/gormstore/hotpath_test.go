package gormstore_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore"
	"github.com/batonhq/baton/models/storetest"
)

// seedSession stores a user, a client and session s1 whose first refresh
// token has the given hash.
func seedSession(t *testing.T, s models.Store, first []byte) {
	t.Helper()
	ctx, now := t.Context(), time.Now()
	if err := s.CreateUser(ctx, models.User{ID: "u", Username: "u", PasswordHash: "h", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClient(ctx, models.Client{ID: "c", Public: true, Grants: []string{"refresh_token"}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	sess := models.Session{ID: "s1", UserID: "u", ClientID: "c", CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
	if _, err := s.CreateSession(ctx, sess, models.RefreshToken{Hash: first, CreatedAt: now}, 0); err != nil {
		t.Fatal(err)
	}
}

// TestRotationStatements pins the cost of the refresh hot path in
// statements inside its transaction (BEGIN and COMMIT come on top).
func TestRotationStatements(t *testing.T) {
	want := map[string]struct{ rotate, replay int64 }{
		"SQLite":   {rotate: 4, replay: 2}, // read; spend, insert, touch | read; successor
		"Postgres": {rotate: 2, replay: 2}, // read+lock; one CTE | read+lock; successor
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			first, next := randomBytes(), randomBytes()
			seedSession(t, s, first)
			n, err := s.CountStatements()
			if err != nil {
				t.Fatal(err)
			}
			decide := func(st models.RefreshState) (models.RefreshChange, error) {
				if !st.Token.Current() {
					return models.RefreshChange{}, nil
				}
				now := time.Now()
				return models.RefreshChange{Rotate: &models.RefreshToken{Hash: next, CreatedAt: now}, SealedSuccessor: next, LastUsedAt: now}, nil
			}
			for _, step := range []struct {
				name string
				want int64
			}{{"rotate", want[b.Name].rotate}, {"replay", want[b.Name].replay}} {
				n.Store(0)
				if err := s.UseRefreshToken(t.Context(), first, decide); err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				if got := n.Load(); got != step.want {
					t.Errorf("%s ran %d statements, want %d", step.name, got, step.want)
				}
			}
			cur, err := s.CurrentRefreshTokens(t.Context(), "s1")
			if err != nil || len(cur) != 1 || string(cur[0].Hash) != string(next) {
				t.Fatalf("current tokens %+v, %v", cur, err)
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
