// Package storetest is the conformance suite every models.Store must pass.
// It knows no implementation: each backend's tests call Run with a function
// that opens a fresh store of its own. Only tests import it.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
)

// Store is a models.Store with the reads the suite checks its effects by,
// which the product never needs.
type Store interface {
	models.Store
	// CurrentRefreshTokens returns the current refresh token of a live
	// session (Generation in SessionID's RefreshGen; a legacy session: its
	// unspent legacy tokens); none for an ended session.
	CurrentRefreshTokens(ctx context.Context, sessionID string) ([]models.RefreshToken, error)
}

// Run runs the conformance suite; open returns a fresh, empty store.
func Run(t *testing.T, open func(t *testing.T) Store) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, Store)
	}{
		{"Users", testUsers},
		{"Clients", testClients},
		{"Sessions", testSessions},
		{"TimesRoundTripUTC", testTimes},
		{"RefreshRotate", testRefreshRotate},
		{"RefreshUnknownSession", testRefreshUnknown},
		{"RefreshChangeCommittedWithError", testRefreshCommitOnError},
		{"RefreshParallelSameToken", testRefreshParallel},
		{"RefreshEndRacesRotation", testRefreshEndRace},
		{"RotateOneStep", testRotateOneStep},
		{"RotateRefused", testRotateRefused},
		{"RotateParallelSameToken", testRotateParallel},
		{"RotateChainsParallel", testRotateChainsParallel},
		{"RotateEndRace", testRotateEndRace},
		{"ConstantRowsPerSession", testConstantRows},
		{"Keys", testKeys},
		{"DisableUser", testDisableUser},
		{"SessionLists", testSessionLists},
		{"EndSessions", testEndSessions},
		{"MaxSessionsPerUserParallel", testMaxSessionsParallel},
		{"ExpireAndPurge", testExpireAndPurge},
		{"IdleSweepByDay", testIdleSweepByDay},
		{"KeysNoLostUpdate", testKeysParallel},
		{"Roles", testRoles},
		{"RolesParallel", testRolesParallel},
		{"RevokedTokens", testRevokedTokens},
		{"RevokeParallel", testRevokeParallel},
		{"ReserveLogin", testReserveLogin},
		{"ReleaseLogin", testReleaseLogin},
		{"ReserveLoginParallel", testReserveLoginParallel},
		{"ClientsList", testClientsList},
		{"UpdateClient", testUpdateClient},
		{"ClientsVersion", testClientsVersion},
		{"UpdateClientParallel", testUpdateClientParallel},
		{"DeleteClient", testDeleteClient},
		{"UsersList", testUsersList},
		{"UpdateUser", testUpdateUser},
		{"DeleteUser", testDeleteUser},
		{"DeleteUserRacesLogins", testDeleteUserRacesLogins},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
	runCodeFlow(t, open)
}

// t0 has sub-microsecond digits on purpose: stores keep microseconds.
var t0 = time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.UTC)

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func randomHash() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// seed stores a user, a client and a session with one refresh token.
func seed(t *testing.T, s Store) (models.Session, models.RefreshToken) {
	t.Helper()
	ctx := t.Context()
	if err := s.CreateUser(ctx, models.User{ID: "u1", Username: "alice", PasswordHash: "h", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClient(ctx, models.Client{ID: "c1", Public: true, Grants: []string{"password"}, Scopes: []string{"read"}, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	sess := models.Session{ID: "s1", UserID: "u1", ClientID: "c1", Scope: "read", CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(time.Hour),
		RefreshGen: 1, RefreshCheck: hash("nonce-s1")}
	if _, err := s.CreateSession(ctx, sess, 0); err != nil {
		t.Fatal(err)
	}
	return sess, models.RefreshToken{SessionID: "s1", Generation: 1, CreatedAt: t0}
}

func testUsers(t *testing.T, s Store) {
	ctx := t.Context()
	u := models.User{ID: "u1", Username: "alice", PasswordHash: "$argon2id$x", CreatedAt: t0}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	err := s.CreateUser(ctx, models.User{ID: "u2", Username: "alice", PasswordHash: "x", CreatedAt: t0})
	if !errors.Is(err, models.ErrAlreadyExists) {
		t.Fatalf("duplicate username: got %v, want ErrAlreadyExists", err)
	}
	got, err := s.UserByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	u.CreatedAt = t0.Truncate(time.Microsecond)
	if !slices.Equal(got.Roles, u.Roles) {
		t.Fatalf("roles %q, want %q", got.Roles, u.Roles)
	}
	if got.Roles = u.Roles; !reflect.DeepEqual(got, u) {
		t.Fatalf("got %+v, want %+v", got, u)
	}
	if _, err := s.UserByUsername(ctx, "bob"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown user: got %v, want ErrNotFound", err)
	}
}

func testClients(t *testing.T, s Store) {
	ctx := t.Context()
	for _, c := range []models.Client{
		{ID: "public", Public: true, Grants: []string{"password", "refresh_token"}, Scopes: []string{"read", "write"}, CreatedAt: t0},
		{ID: "conf", SecretHash: "$argon2id$y", Grants: []string{"client_credentials"}, Scopes: nil, CreatedAt: t0},
	} {
		if err := s.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := s.Client(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != c.ID || got.Public != c.Public || got.SecretHash != c.SecretHash ||
			!slices.Equal(got.Grants, c.Grants) || len(got.Scopes) != len(c.Scopes) || !slices.Equal(got.Scopes, c.Scopes) && len(c.Scopes) > 0 {
			t.Fatalf("got %+v, want %+v", got, c)
		}
	}
	if err := s.CreateClient(ctx, models.Client{ID: "conf", Grants: []string{"password"}, CreatedAt: t0}); !errors.Is(err, models.ErrAlreadyExists) {
		t.Fatalf("duplicate client: got %v", err)
	}
	if _, err := s.Client(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown client: got %v", err)
	}
}

func testSessions(t *testing.T, s Store) {
	sess, tok := seed(t, s)
	got, err := s.Session(t.Context(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != "u1" || got.ClientID != "c1" || got.Scope != "read" || got.Ended() {
		t.Fatalf("got %+v", got)
	}
	if got.RefreshGen != 1 || !bytes.Equal(got.RefreshCheck, hash("nonce-s1")) || !got.RotatedAt.IsZero() {
		t.Fatalf("refresh state of a new session: gen %d check %x rotated %v", got.RefreshGen, got.RefreshCheck, got.RotatedAt)
	}
	cur, err := s.CurrentRefreshTokens(t.Context(), sess.ID)
	if err != nil || len(cur) != 1 || cur[0].Generation != tok.Generation || !cur[0].Current() {
		t.Fatalf("current tokens %+v, %v", cur, err)
	}
	if _, err := s.Session(t.Context(), "nope"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown session: got %v", err)
	}
	// A session whose user does not exist is refused, and nothing is left half-written.
	_, err = s.CreateSession(t.Context(), models.Session{ID: "s2", UserID: "ghost", ClientID: "c1", CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0,
		RefreshGen: 1, RefreshCheck: hash("ghost")}, 0)
	if !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("session of an unknown user: %v, want ErrNotFound", err)
	}
	if _, err := s.Session(t.Context(), "s2"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("half-written session: %v", err)
	}
}

func testTimes(t *testing.T, s Store) {
	sess, _ := seed(t, s)
	local := time.FixedZone("UTC+5", 5*3600)
	err := s.UseRefresh(t.Context(), key("s1"), func(st models.RefreshState) (models.RefreshChange, error) {
		return models.RefreshChange{LastUsedAt: t0.Add(time.Minute).In(local)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Session(t.Context(), sess.ID)
	for name, pair := range map[string][2]time.Time{
		"created_at":   {got.CreatedAt, t0},
		"last_used_at": {got.LastUsedAt, t0.Add(time.Minute)},
		"expires_at":   {got.ExpiresAt, t0.Add(time.Hour)},
	} {
		if pair[0].Location() != time.UTC || !pair[0].Equal(pair[1].Truncate(time.Microsecond)) {
			t.Errorf("%s = %v, want %v in UTC", name, pair[0], pair[1])
		}
	}
	if !got.EndedAt.IsZero() {
		t.Errorf("ended_at = %v, want zero", got.EndedAt)
	}
}

func key(sid string) models.RefreshKey { return models.RefreshKey{SessionID: sid} }

// rotateOrReplay is the decision of the refresh rules reduced to storage:
// rotate the generation gen, change nothing for any other.
func rotateOrReplay(gen int64, now time.Time) func(models.RefreshState) (models.RefreshChange, error) {
	return func(st models.RefreshState) (models.RefreshChange, error) {
		if st.Session.RefreshGen == gen {
			return models.RefreshChange{Rotate: true, At: now}, nil
		}
		return models.RefreshChange{}, nil
	}
}

func testRefreshRotate(t *testing.T, s Store) {
	sess, _ := seed(t, s)
	ctx := t.Context()
	now := t0.Add(time.Minute)
	if err := s.UseRefresh(ctx, key(sess.ID), rotateOrReplay(1, now)); err != nil {
		t.Fatal(err)
	}
	var seen models.RefreshState
	err := s.UseRefresh(ctx, key(sess.ID), func(st models.RefreshState) (models.RefreshChange, error) {
		seen = st
		return models.RefreshChange{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	at := now.Truncate(time.Microsecond)
	if seen.Session.RefreshGen != 2 || !seen.Session.RotatedAt.Equal(at) || !seen.Session.LastUsedAt.Equal(at) ||
		!bytes.Equal(seen.Session.RefreshCheck, hash("nonce-s1")) || seen.Session.ID != sess.ID || seen.Legacy != nil {
		t.Fatalf("session after a rotation %+v", seen.Session)
	}
	if seen.User.ID != "u1" || seen.User.Username != "alice" || seen.User.Disabled {
		t.Fatalf("user %+v", seen.User)
	}
	cur, _ := s.CurrentRefreshTokens(ctx, sess.ID)
	if len(cur) != 1 || cur[0].Generation != 2 || !cur[0].CreatedAt.Equal(at) {
		t.Fatalf("current tokens %+v", cur)
	}
}

func testRefreshUnknown(t *testing.T, s Store) {
	seed(t, s)
	called := false
	for _, k := range []models.RefreshKey{key("nope"), {LegacyHash: hash("nope")}} {
		err := s.UseRefresh(t.Context(), k, func(models.RefreshState) (models.RefreshChange, error) {
			called = true
			return models.RefreshChange{}, nil
		})
		if !errors.Is(err, models.ErrNotFound) || called {
			t.Fatalf("%+v: got %v (decide called: %v), want ErrNotFound without decide", k, err, called)
		}
	}
}

func testRefreshCommitOnError(t *testing.T, s Store) {
	sess, _ := seed(t, s)
	refused := errors.New("refused")
	err := s.UseRefresh(t.Context(), key(sess.ID), func(models.RefreshState) (models.RefreshChange, error) {
		return models.RefreshChange{End: &models.SessionEnd{At: t0, Reason: models.EndReuseDetected}}, refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("got %v, want decide's error", err)
	}
	got, _ := s.Session(t.Context(), sess.ID)
	if !got.Ended() || got.EndReason != models.EndReuseDetected {
		t.Fatalf("session %+v: the end was not committed", got)
	}
}

// testRefreshParallel: 200 presentations of generation 1 race under the
// session's lock; exactly one sees it current and rotates, every other
// sees generation 2 (the grace replay's view).
func testRefreshParallel(t *testing.T, s Store) {
	sess, _ := seed(t, s)
	const n = 200
	var wg sync.WaitGroup
	var rotations atomic.Int32
	seen := make([]int64, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			rotated := false
			errs[i] = s.UseRefresh(t.Context(), key(sess.ID), func(st models.RefreshState) (models.RefreshChange, error) {
				seen[i], rotated = st.Session.RefreshGen, st.Session.RefreshGen == 1
				return rotateOrReplay(1, t0)(st)
			})
			if errs[i] == nil && rotated {
				rotations.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	if rotations.Load() != 1 {
		t.Fatalf("%d rotations, want 1", rotations.Load())
	}
	for i, g := range seen {
		if g != 1 && g != 2 {
			t.Fatalf("goroutine %d saw generation %d", i, g)
		}
	}
	if got, _ := s.Session(t.Context(), sess.ID); got.RefreshGen != 2 {
		t.Fatalf("generation %d, want 2", got.RefreshGen)
	}
}

// testRefreshEndRace races rotations along the chain with one reuse
// decision: however they interleave, the session ends up ended.
func testRefreshEndRace(t *testing.T, s Store) {
	sess, _ := seed(t, s)
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 20 {
			err := s.UseRefresh(t.Context(), key(sess.ID), func(st models.RefreshState) (models.RefreshChange, error) {
				if st.Session.Ended() {
					return models.RefreshChange{}, errors.New("ended")
				}
				return models.RefreshChange{Rotate: true, At: t0}, nil
			})
			if err != nil {
				return
			}
		}
	})
	wg.Go(func() {
		_ = s.UseRefresh(t.Context(), key(sess.ID), func(models.RefreshState) (models.RefreshChange, error) {
			return models.RefreshChange{End: &models.SessionEnd{At: t0, Reason: models.EndReuseDetected}}, errors.New("reuse")
		})
	})
	wg.Wait()
	got, _ := s.Session(t.Context(), sess.ID)
	if !got.Ended() {
		t.Fatal("the session survived a reuse decision")
	}
	if cur, _ := s.CurrentRefreshTokens(t.Context(), sess.ID); len(cur) != 0 {
		t.Fatalf("%d current tokens of an ended session, want 0", len(cur))
	}
}

// testConstantRows refreshes one session 2,000 times: what the store keeps
// of it (its rows, their bytes where the store can tell) does not grow.
func testConstantRows(t *testing.T, s Store) {
	sess, _ := seed(t, s)
	sizer, _ := s.(interface {
		SessionFootprint(ctx context.Context, id string) (rows int64, bytes int64, err error)
	})
	if sizer == nil {
		t.Skip("the store cannot tell its footprint")
	}
	foot := func() (int64, int64) {
		t.Helper()
		rows, size, err := sizer.SessionFootprint(t.Context(), sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		return rows, size
	}
	gen := int64(1)
	step := func(n int) {
		for range n {
			at := t0.Add(time.Duration(gen) * time.Millisecond)
			if _, ok, err := s.RotateRefresh(t.Context(), models.Rotation{SessionID: sess.ID, Gen: gen, Check: hash("nonce-s1"),
				ClientID: "c1", At: at, UsedAfter: at.Add(-time.Hour)}); err != nil {
				t.Fatal(err)
			} else if !ok {
				if err := s.UseRefresh(t.Context(), key(sess.ID), rotateOrReplay(gen, at)); err != nil {
					t.Fatal(err)
				}
			}
			gen++
		}
	}
	step(100) // the row's page reaches its steady state
	rows0, size0 := foot()
	// Constant, up to the versions MVCC keeps until no snapshot needs them:
	// Postgres prunes them from the page, but a transaction of another test
	// holds that back while it runs (one that has a transaction id, even in
	// another database), and the table then grows by pages that later
	// refreshes reuse. So the check is that some round of 2,000 refreshes,
	// of at most maxRounds (longer than other tests hold a transaction),
	// leaves the footprint where the previous one left it; a row per
	// refresh would add more than 100 kB to every round.
	const slack, maxRounds = 4 * 8192, 15
	prev, total := size0, 100
	for round := 1; ; round++ {
		step(2000)
		total += 2000
		rows, size := foot()
		if got, _ := s.Session(t.Context(), sess.ID); got.RefreshGen != gen {
			t.Fatalf("generation %d, want %d", got.RefreshGen, gen)
		}
		t.Logf("after 100 refreshes: %d rows, %d bytes; after %d: %d rows, %d bytes", rows0, size0, total, rows, size)
		switch {
		case rows != rows0 || rows != 1:
			t.Fatalf("the session's rows grew with refreshes: %d, then %d", rows0, rows)
		case size <= prev+slack:
			return
		case round == maxRounds:
			t.Fatalf("the session's footprint grew with every round of refreshes: %d bytes after 100, %d after %d", size0, size, total)
		}
		prev = size
	}
}

func signingKey(id, state string) models.SigningKey {
	return models.SigningKey{ID: id, Alg: "ES256", State: state, PublicJWK: []byte(`{"kid":"` + id + `"}`),
		SealedKey: []byte("sealed-" + id), CreatedAt: t0, ActivateAt: t0.Add(time.Hour)}
}

func testKeys(t *testing.T, s Store) {
	ctx := t.Context()
	if ks, err := s.SigningKeys(ctx); err != nil || len(ks) != 0 {
		t.Fatalf("fresh store has keys %v, %v", ks, err)
	}
	err := s.UpdateKeys(ctx, func(ks []models.SigningKey) ([]models.SigningKey, error) {
		return append(ks, signingKey("a", models.KeyActive), signingKey("b", models.KeyNext)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.UpdateKeys(ctx, func(ks []models.SigningKey) ([]models.SigningKey, error) {
		if len(ks) != 2 {
			return nil, fmt.Errorf("read %d keys, want 2", len(ks))
		}
		ks[0].State, ks[0].RetireAt, ks[0].RemoveAt = models.KeyRetired, t0, t0.Add(time.Hour)
		return ks, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := s.SigningKeys(ctx)
	if len(ks) != 2 || ks[0].ID != "a" || ks[0].State != models.KeyRetired || !ks[0].RemoveAt.Equal(t0.Add(time.Hour).Truncate(time.Microsecond)) ||
		string(ks[1].SealedKey) != "sealed-b" || string(ks[1].PublicJWK) != `{"kid":"b"}` || !ks[1].RetireAt.IsZero() {
		t.Fatalf("keys %+v", ks)
	}
	// Omitted keys are deleted; an error writes nothing.
	if err := s.UpdateKeys(ctx, func(ks []models.SigningKey) ([]models.SigningKey, error) { return ks[1:], nil }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err = s.UpdateKeys(ctx, func([]models.SigningKey) ([]models.SigningKey, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want fn's error", err)
	}
	if ks, _ := s.SigningKeys(ctx); len(ks) != 1 || ks[0].ID != "b" {
		t.Fatalf("keys %+v", ks)
	}
}

// testKeysParallel: 20 writers each add a key named after the count they
// read; with one writer at a time no name repeats and none is lost.
func testKeysParallel(t *testing.T, s Store) {
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.UpdateKeys(t.Context(), func(ks []models.SigningKey) ([]models.SigningKey, error) {
				return append(ks, signingKey(fmt.Sprintf("k%02d", len(ks)), models.KeyNext)), nil
			})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ks, _ := s.SigningKeys(t.Context())
	if len(ks) != n {
		t.Fatalf("%d keys, want %d: updates were lost", len(ks), n)
	}
}
