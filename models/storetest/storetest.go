package storetest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
)

// Run runs the conformance suite; open returns a fresh, empty store.
func Run(t *testing.T, open func(t *testing.T) models.Store) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, models.Store)
	}{
		{"Users", testUsers},
		{"Clients", testClients},
		{"Sessions", testSessions},
		{"TimesRoundTripUTC", testTimes},
		{"RefreshRotate", testRefreshRotate},
		{"RefreshUnknownHash", testRefreshUnknown},
		{"RefreshChangeCommittedWithError", testRefreshCommitOnError},
		{"RefreshParallelSameToken", testRefreshParallel},
		{"RefreshEndRacesRotation", testRefreshEndRace},
		{"RotateOneStep", testRotateOneStep},
		{"RotateRefused", testRotateRefused},
		{"RotateParallelSameToken", testRotateParallel},
		{"RotateChainsParallel", testRotateChainsParallel},
		{"RotateEndRace", testRotateEndRace},
		{"ForgetSuccessors", testForgetSuccessors},
		{"Keys", testKeys},
		{"DisableUser", testDisableUser},
		{"SessionLists", testSessionLists},
		{"EndSessions", testEndSessions},
		{"InspectRefreshToken", testInspect},
		{"MaxSessionsPerUserParallel", testMaxSessionsParallel},
		{"ExpireAndPurge", testExpireAndPurge},
		{"KeysNoLostUpdate", testKeysParallel},
		{"Roles", testRoles},
		{"RolesParallel", testRolesParallel},
		{"RevokedTokens", testRevokedTokens},
		{"RevokeParallel", testRevokeParallel},
		{"ReserveLogin", testReserveLogin},
		{"ReleaseLogin", testReleaseLogin},
		{"ReserveLoginParallel", testReserveLoginParallel},
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
func seed(t *testing.T, s models.Store) (models.Session, models.RefreshToken) {
	t.Helper()
	ctx := t.Context()
	if err := s.CreateUser(ctx, models.User{ID: "u1", Username: "alice", PasswordHash: "h", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClient(ctx, models.Client{ID: "c1", Public: true, Grants: []string{"password"}, Scopes: []string{"read"}, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	sess := models.Session{ID: "s1", UserID: "u1", ClientID: "c1", Scope: "read", CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	tok := models.RefreshToken{Hash: hash("rt1"), SessionID: "s1", CreatedAt: t0}
	if _, err := s.CreateSession(ctx, sess, tok, 0); err != nil {
		t.Fatal(err)
	}
	return sess, tok
}

func testUsers(t *testing.T, s models.Store) {
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

func testClients(t *testing.T, s models.Store) {
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

func testSessions(t *testing.T, s models.Store) {
	sess, tok := seed(t, s)
	got, err := s.Session(t.Context(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != "u1" || got.ClientID != "c1" || got.Scope != "read" || got.Ended() {
		t.Fatalf("got %+v", got)
	}
	cur, err := s.CurrentRefreshTokens(t.Context(), sess.ID)
	if err != nil || len(cur) != 1 || !bytes.Equal(cur[0].Hash, tok.Hash) || !cur[0].Current() {
		t.Fatalf("current tokens %+v, %v", cur, err)
	}
	if _, err := s.Session(t.Context(), "nope"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown session: got %v", err)
	}
	// A session whose user does not exist is refused, and nothing is left half-written.
	_, err = s.CreateSession(t.Context(), models.Session{ID: "s2", UserID: "ghost", ClientID: "c1", CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0},
		models.RefreshToken{Hash: hash("rt-ghost"), CreatedAt: t0}, 0)
	if err == nil {
		t.Fatal("session of an unknown user was stored")
	}
	if _, err := s.Session(t.Context(), "s2"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("half-written session: %v", err)
	}
}

func testTimes(t *testing.T, s models.Store) {
	sess, _ := seed(t, s)
	local := time.FixedZone("UTC+5", 5*3600)
	err := s.UseRefreshToken(t.Context(), hash("rt1"), func(st models.RefreshState) (models.RefreshChange, error) {
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

// rotateOrReplay is the decision of the refresh rules reduced to storage:
// rotate a current token, hand back the successor of a spent one.
func rotateOrReplay(next []byte, now time.Time) func(models.RefreshState) (models.RefreshChange, error) {
	return func(st models.RefreshState) (models.RefreshChange, error) {
		if st.Token.Current() {
			return models.RefreshChange{
				Rotate:          &models.RefreshToken{Hash: next, CreatedAt: now},
				SealedSuccessor: []byte("sealed"),
				LastUsedAt:      now,
			}, nil
		}
		return models.RefreshChange{}, nil
	}
}

func testRefreshRotate(t *testing.T, s models.Store) {
	sess, tok := seed(t, s)
	ctx := t.Context()
	now := t0.Add(time.Minute)
	if err := s.UseRefreshToken(ctx, tok.Hash, rotateOrReplay(hash("rt2"), now)); err != nil {
		t.Fatal(err)
	}
	var seen models.RefreshState
	err := s.UseRefreshToken(ctx, tok.Hash, func(st models.RefreshState) (models.RefreshChange, error) {
		seen = st
		return models.RefreshChange{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen.Token.Current() || !seen.Token.SpentAt.Equal(now.Truncate(time.Microsecond)) ||
		!bytes.Equal(seen.Token.SuccessorHash, hash("rt2")) || string(seen.Token.SealedSuccessor) != "sealed" {
		t.Fatalf("spent token %+v", seen.Token)
	}
	if seen.Successor == nil || !bytes.Equal(seen.Successor.Hash, hash("rt2")) || !seen.Successor.Current() {
		t.Fatalf("successor %+v", seen.Successor)
	}
	if seen.User.ID != "u1" || seen.User.Username != "alice" || seen.User.Disabled {
		t.Fatalf("user %+v", seen.User)
	}
	if !seen.Session.LastUsedAt.Equal(now.Truncate(time.Microsecond)) || seen.Session.ID != sess.ID {
		t.Fatalf("session %+v", seen.Session)
	}
	cur, _ := s.CurrentRefreshTokens(ctx, sess.ID)
	if len(cur) != 1 || !bytes.Equal(cur[0].Hash, hash("rt2")) {
		t.Fatalf("current tokens %+v", cur)
	}
	// Rotating a spent token again is refused by the store itself.
	err = s.UseRefreshToken(ctx, tok.Hash, func(st models.RefreshState) (models.RefreshChange, error) {
		return models.RefreshChange{Rotate: &models.RefreshToken{Hash: hash("rt3"), CreatedAt: now}}, nil
	})
	if !errors.Is(err, models.ErrConflict) {
		t.Fatalf("second rotation of a spent token: got %v, want ErrConflict", err)
	}
	if cur, _ := s.CurrentRefreshTokens(ctx, sess.ID); len(cur) != 1 {
		t.Fatalf("%d current tokens after a refused rotation", len(cur))
	}
}

func testRefreshUnknown(t *testing.T, s models.Store) {
	seed(t, s)
	called := false
	err := s.UseRefreshToken(t.Context(), hash("nope"), func(models.RefreshState) (models.RefreshChange, error) {
		called = true
		return models.RefreshChange{}, nil
	})
	if !errors.Is(err, models.ErrNotFound) || called {
		t.Fatalf("got %v (decide called: %v), want ErrNotFound without decide", err, called)
	}
}

func testRefreshCommitOnError(t *testing.T, s models.Store) {
	sess, tok := seed(t, s)
	refused := errors.New("refused")
	err := s.UseRefreshToken(t.Context(), tok.Hash, func(models.RefreshState) (models.RefreshChange, error) {
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

func testRefreshParallel(t *testing.T, s models.Store) {
	sess, tok := seed(t, s)
	const n = 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	rotations := 0
	successors := make([][]byte, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			mine := randomHash()
			errs[i] = s.UseRefreshToken(t.Context(), tok.Hash, func(st models.RefreshState) (models.RefreshChange, error) {
				if st.Token.Current() {
					successors[i] = mine
					return models.RefreshChange{Rotate: &models.RefreshToken{Hash: mine, CreatedAt: t0}, LastUsedAt: t0}, nil
				}
				successors[i] = st.Token.SuccessorHash
				return models.RefreshChange{}, nil
			})
			if errs[i] == nil && bytes.Equal(successors[i], mine) {
				mu.Lock()
				rotations++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
		if !bytes.Equal(successors[i], successors[0]) {
			t.Fatalf("goroutine %d saw another successor", i)
		}
	}
	if rotations != 1 {
		t.Fatalf("%d rotations, want 1", rotations)
	}
	cur, err := s.CurrentRefreshTokens(t.Context(), sess.ID)
	if err != nil || len(cur) != 1 || !bytes.Equal(cur[0].Hash, successors[0]) {
		t.Fatalf("current tokens %d, %v", len(cur), err)
	}
}

// testRefreshEndRace races rotations of a chain with one reuse decision:
// however they interleave, the session ends up ended.
func testRefreshEndRace(t *testing.T, s models.Store) {
	sess, tok := seed(t, s)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		cur := tok.Hash
		for range 20 {
			next := randomHash()
			err := s.UseRefreshToken(t.Context(), cur, func(st models.RefreshState) (models.RefreshChange, error) {
				if st.Session.Ended() {
					return models.RefreshChange{}, errors.New("ended")
				}
				return models.RefreshChange{Rotate: &models.RefreshToken{Hash: next, CreatedAt: t0}}, nil
			})
			if err != nil {
				return
			}
			cur = next
		}
	}()
	go func() {
		defer wg.Done()
		_ = s.UseRefreshToken(t.Context(), tok.Hash, func(models.RefreshState) (models.RefreshChange, error) {
			return models.RefreshChange{End: &models.SessionEnd{At: t0, Reason: models.EndReuseDetected}}, errors.New("reuse")
		})
	}()
	wg.Wait()
	got, _ := s.Session(t.Context(), sess.ID)
	if !got.Ended() {
		t.Fatal("the session survived a reuse decision")
	}
	if cur, _ := s.CurrentRefreshTokens(t.Context(), sess.ID); len(cur) != 1 {
		t.Fatalf("%d current tokens, want 1", len(cur))
	}
}

func testForgetSuccessors(t *testing.T, s models.Store) {
	_, tok := seed(t, s)
	ctx := t.Context()
	if err := s.UseRefreshToken(ctx, tok.Hash, rotateOrReplay(hash("rt2"), t0)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ForgetSuccessors(ctx, t0); err != nil || n != 0 {
		t.Fatalf("forgot %d (%v) spent at the cutoff, want 0", n, err)
	}
	if n, err := s.ForgetSuccessors(ctx, t0.Add(time.Microsecond)); err != nil || n != 1 {
		t.Fatalf("forgot %d (%v), want 1", n, err)
	}
	_ = s.UseRefreshToken(ctx, tok.Hash, func(st models.RefreshState) (models.RefreshChange, error) {
		if st.Token.SealedSuccessor != nil {
			t.Errorf("sealed successor kept: %x", st.Token.SealedSuccessor)
		}
		if !bytes.Equal(st.Token.SuccessorHash, hash("rt2")) {
			t.Error("the successor hash must be kept")
		}
		return models.RefreshChange{}, nil
	})
}

func key(id, state string) models.SigningKey {
	return models.SigningKey{ID: id, Alg: "ES256", State: state, PublicJWK: []byte(`{"kid":"` + id + `"}`),
		SealedKey: []byte("sealed-" + id), CreatedAt: t0, ActivateAt: t0.Add(time.Hour)}
}

func testKeys(t *testing.T, s models.Store) {
	ctx := t.Context()
	if ks, err := s.SigningKeys(ctx); err != nil || len(ks) != 0 {
		t.Fatalf("fresh store has keys %v, %v", ks, err)
	}
	err := s.UpdateKeys(ctx, func(ks []models.SigningKey) ([]models.SigningKey, error) {
		return append(ks, key("a", models.KeyActive), key("b", models.KeyNext)), nil
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
func testKeysParallel(t *testing.T, s models.Store) {
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.UpdateKeys(t.Context(), func(ks []models.SigningKey) ([]models.SigningKey, error) {
				return append(ks, key(fmt.Sprintf("k%02d", len(ks)), models.KeyNext)), nil
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
