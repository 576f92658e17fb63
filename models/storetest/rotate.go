package storetest

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
)

// rotation asks to rotate the token with hash from into next at now, for
// client c1 with an idle limit of 10 minutes.
func rotation(from, next []byte, now time.Time) models.Rotation {
	return models.Rotation{Hash: from, ClientID: "c1", SealedSuccessor: []byte("sealed"),
		Next: models.RefreshToken{Hash: next, CreatedAt: now}, UsedAfter: now.Add(-10 * time.Minute)}
}

func testRotateOneStep(t *testing.T, s models.Store) {
	sess, tok := seed(t, s)
	ctx := t.Context()
	now := t0.Add(time.Minute)
	got, err := s.RotateRefreshToken(ctx, rotation(tok.Hash, hash("rt2"), now))
	if err != nil {
		t.Fatal(err)
	}
	now = now.Truncate(time.Microsecond)
	if got.ID != sess.ID || got.UserID != "u1" || got.ClientID != "c1" || got.Scope != "read" ||
		!got.CreatedAt.Equal(sess.CreatedAt.Truncate(time.Microsecond)) || !got.ExpiresAt.Equal(sess.ExpiresAt.Truncate(time.Microsecond)) ||
		!got.LastUsedAt.Equal(now) || got.Ended() {
		t.Fatalf("returned session %+v", got)
	}
	st, err := s.InspectRefreshToken(ctx, tok.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if st.Token.Current() || !st.Token.SpentAt.Equal(now) || !bytes.Equal(st.Token.SuccessorHash, hash("rt2")) ||
		string(st.Token.SealedSuccessor) != "sealed" {
		t.Fatalf("spent token %+v", st.Token)
	}
	if !st.Session.LastUsedAt.Equal(now) {
		t.Fatalf("session last used %v, want %v", st.Session.LastUsedAt, now)
	}
	cur, err := s.CurrentRefreshTokens(ctx, sess.ID)
	if err != nil || len(cur) != 1 || !bytes.Equal(cur[0].Hash, hash("rt2")) || !cur[0].CreatedAt.Equal(now) {
		t.Fatalf("current tokens %+v, %v", cur, err)
	}
	// The spent token goes to the full rules, which see its successor.
	if _, err := s.RotateRefreshToken(ctx, rotation(tok.Hash, hash("rt3"), now)); !errors.Is(err, models.ErrNotRotated) {
		t.Fatalf("spent token: %v, want ErrNotRotated", err)
	}
	if _, err := s.RotateRefreshToken(ctx, rotation(hash("rt2"), hash("rt3"), now.Add(time.Second))); err != nil {
		t.Fatalf("successor: %v", err)
	}
}

// testRotateRefused checks every condition of the one-step rotation: each
// refusal is ErrNotRotated and leaves the token current.
func testRotateRefused(t *testing.T, s models.Store) {
	sess, tok := seed(t, s)
	ctx := t.Context()
	now := t0.Add(time.Minute)
	for _, tc := range []struct {
		name string
		r    models.Rotation
	}{
		{"unknown token", rotation(hash("nope"), randomHash(), now)},
		{"other client", func() models.Rotation { r := rotation(tok.Hash, randomHash(), now); r.ClientID = "c2"; return r }()},
		{"at the absolute limit", rotation(tok.Hash, randomHash(), sess.ExpiresAt)},
		{"past the absolute limit", rotation(tok.Hash, randomHash(), sess.ExpiresAt.Add(time.Second))},
		{"idle", func() models.Rotation {
			r := rotation(tok.Hash, randomHash(), now)
			r.UsedAfter = sess.LastUsedAt
			return r
		}()},
	} {
		if _, err := s.RotateRefreshToken(ctx, tc.r); !errors.Is(err, models.ErrNotRotated) {
			t.Fatalf("%s: %v, want ErrNotRotated", tc.name, err)
		}
	}
	check := func(when string) {
		t.Helper()
		cur, err := s.CurrentRefreshTokens(ctx, sess.ID)
		if err != nil || len(cur) != 1 || !bytes.Equal(cur[0].Hash, tok.Hash) {
			t.Fatalf("%s: current tokens %+v, %v", when, cur, err)
		}
	}
	check("after the refusals")
	got, _ := s.Session(ctx, sess.ID)
	if !got.LastUsedAt.Equal(sess.LastUsedAt.Truncate(time.Microsecond)) {
		t.Fatalf("a refused rotation touched the session: %v", got.LastUsedAt)
	}

	// A disabled user and an ended session refuse too.
	if _, _, err := s.DisableUser(ctx, "alice", now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateRefreshToken(ctx, rotation(tok.Hash, randomHash(), now)); !errors.Is(err, models.ErrNotRotated) {
		t.Fatalf("disabled user: %v, want ErrNotRotated", err)
	}
	check("after the disabled user's refusal")
	if err := s.CreateUser(ctx, models.User{ID: "u2", Username: "bob", PasswordHash: "h", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	s2 := models.Session{ID: "s2", UserID: "u2", ClientID: "c1", Scope: "read", CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if _, err := s.CreateSession(ctx, s2, models.RefreshToken{Hash: hash("bob"), CreatedAt: t0}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EndSession(ctx, "s2", models.SessionEnd{At: now, Reason: models.EndAdmin}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateRefreshToken(ctx, rotation(hash("bob"), randomHash(), now)); !errors.Is(err, models.ErrNotRotated) {
		t.Fatalf("ended session: %v, want ErrNotRotated", err)
	}
}

// testRotateParallel races 100 one-step rotations and 100 full-rules
// rotations of one token: exactly one wins, none fails (a one-step loser is
// ErrNotRotated, a full-rules loser sees the token spent), and the session
// keeps exactly the winner's successor as its one current token.
func testRotateParallel(t *testing.T, s models.Store) {
	sess, tok := seed(t, s)
	const n = 200
	var wg sync.WaitGroup
	var wins atomic.Int32
	var winner atomic.Value
	errs := make([]error, n)
	start := make(chan struct{})
	now := t0.Add(time.Minute)
	for i := range n {
		wg.Go(func() {
			<-start
			mine := randomHash()
			if i%2 == 0 {
				_, err := s.RotateRefreshToken(t.Context(), rotation(tok.Hash, mine, now))
				if err == nil {
					wins.Add(1)
					winner.Store(mine)
				}
				if !errors.Is(err, models.ErrNotRotated) {
					errs[i] = err
				}
				return
			}
			errs[i] = s.UseRefreshToken(t.Context(), tok.Hash, func(st models.RefreshState) (models.RefreshChange, error) {
				if st.Token.Current() {
					return models.RefreshChange{Rotate: &models.RefreshToken{Hash: mine, CreatedAt: now}, LastUsedAt: now}, nil
				}
				return models.RefreshChange{}, nil
			})
			if errs[i] == nil {
				if cur, _ := s.CurrentRefreshTokens(t.Context(), sess.ID); len(cur) == 1 && bytes.Equal(cur[0].Hash, mine) {
					wins.Add(1)
					winner.Store(mine)
				}
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
	if wins.Load() != 1 {
		t.Fatalf("%d rotations won, want 1", wins.Load())
	}
	cur, err := s.CurrentRefreshTokens(t.Context(), sess.ID)
	if err != nil || len(cur) != 1 || !bytes.Equal(cur[0].Hash, winner.Load().([]byte)) {
		t.Fatalf("current tokens %d, %v", len(cur), err)
	}
}

// testRotateChainsParallel runs many sessions' chains at once, each worker
// always presenting its newest token: no refusal and no error.
func testRotateChainsParallel(t *testing.T, s models.Store) {
	seed(t, s)
	const workers, steps = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		id := string(rune('a'+w)) + "-chain"
		addSession(t, s, id, t0, 0)
		wg.Go(func() {
			cur := hash("rt-" + id)
			for i := range steps {
				next := randomHash()
				if _, err := s.RotateRefreshToken(t.Context(), rotation(cur, next, t0.Add(time.Duration(i+1)*time.Second))); err != nil {
					errs <- err
					return
				}
				cur = next
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// testRotateEndRace races one-step rotations along a chain with the
// session's revocation: the session ends, and keeps one current token.
func testRotateEndRace(t *testing.T, s models.Store) {
	sess, tok := seed(t, s)
	var wg sync.WaitGroup
	wg.Go(func() {
		cur := tok.Hash
		for i := range 50 {
			next := randomHash()
			if _, err := s.RotateRefreshToken(t.Context(), rotation(cur, next, t0.Add(time.Duration(i+1)*time.Second))); err != nil {
				if !errors.Is(err, models.ErrNotRotated) {
					t.Error(err)
				}
				return
			}
			cur = next
		}
	})
	wg.Go(func() {
		if _, err := s.EndSession(t.Context(), sess.ID, models.SessionEnd{At: t0, Reason: models.EndAdmin}); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	got, _ := s.Session(t.Context(), sess.ID)
	if !got.Ended() {
		t.Fatal("the session survived its revocation")
	}
	if cur, _ := s.CurrentRefreshTokens(t.Context(), sess.ID); len(cur) != 1 {
		t.Fatalf("%d current tokens, want 1", len(cur))
	}
	if _, err := s.RotateRefreshToken(t.Context(), rotation(tok.Hash, randomHash(), t0)); !errors.Is(err, models.ErrNotRotated) {
		t.Fatalf("rotation after the end: %v", err)
	}
}
