package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
)

// rotation asks to rotate generation gen of session sid (nonce of seed or
// addSession) at now, for client c1 with an idle limit of 10 minutes.
func rotation(sid string, gen int64, now time.Time) models.Rotation {
	return models.Rotation{SessionID: sid, Gen: gen, Check: hash("nonce-" + sid), ClientID: "c1",
		At: now, UsedAfter: now.Add(-10 * time.Minute)}
}

// rotateAny rotates gen in one step, or with the full path when the store
// has no fast path or it did not apply; it reports whether gen rotated.
func rotateAny(t *testing.T, s Store, r models.Rotation) (bool, error) {
	if _, ok, err := s.RotateRefresh(t.Context(), r); err != nil || ok {
		return ok, err
	}
	rotated := false
	err := s.UseRefresh(t.Context(), key(r.SessionID), func(st models.RefreshState) (models.RefreshChange, error) {
		rotated = st.Session.RefreshGen == r.Gen && !st.Session.Ended()
		if !rotated {
			return models.RefreshChange{}, nil
		}
		return models.RefreshChange{Rotate: true, At: r.At}, nil
	})
	return rotated, err
}

func testRotateOneStep(t *testing.T, s Store) {
	sess, _ := seed(t, s)
	ctx := t.Context()
	now := t0.Add(time.Minute)
	got, ok, err := s.RotateRefresh(ctx, rotation(sess.ID, 1, now))
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		if stored, _ := s.Session(ctx, sess.ID); stored.RefreshGen != 1 {
			t.Fatalf("a store without a fast path rotated: generation %d", stored.RefreshGen)
		}
		t.Skip("the store has no one-step rotation")
	}
	now = now.Truncate(time.Microsecond)
	if got.ID != sess.ID || got.UserID != "u1" || got.ClientID != "c1" || got.Scope != "read" ||
		!got.CreatedAt.Equal(sess.CreatedAt.Truncate(time.Microsecond)) || !got.ExpiresAt.Equal(sess.ExpiresAt.Truncate(time.Microsecond)) ||
		!got.LastUsedAt.Equal(now) || !got.RotatedAt.Equal(now) || got.RefreshGen != 2 || got.Ended() {
		t.Fatalf("returned session %+v", got)
	}
	stored, err := s.Session(ctx, sess.ID)
	if err != nil || stored.RefreshGen != 2 || !stored.LastUsedAt.Equal(now) || !stored.RotatedAt.Equal(now) {
		t.Fatalf("stored session %+v, %v", stored, err)
	}
	// The spent generation goes to the full rules.
	if _, ok, err := s.RotateRefresh(ctx, rotation(sess.ID, 1, now)); ok || err != nil {
		t.Fatalf("spent generation: %v, %v; want false", ok, err)
	}
	if _, ok, err := s.RotateRefresh(ctx, rotation(sess.ID, 2, now.Add(time.Second))); !ok || err != nil {
		t.Fatalf("successor: %v, %v", ok, err)
	}
}

// testRotateRefused checks every condition of the one-step rotation: each
// refusal is false and changes nothing.
func testRotateRefused(t *testing.T, s Store) {
	sess, _ := seed(t, s)
	ctx := t.Context()
	now := t0.Add(time.Minute)
	with := func(f func(r *models.Rotation)) models.Rotation {
		r := rotation(sess.ID, 1, now)
		f(&r)
		return r
	}
	for _, tc := range []struct {
		name string
		r    models.Rotation
	}{
		{"unknown session", rotation("nope", 1, now)},
		{"future generation", rotation(sess.ID, 2, now)},
		{"other nonce", with(func(r *models.Rotation) { r.Check = hash("other") })},
		{"no nonce", with(func(r *models.Rotation) { r.Check = nil })},
		{"other client", with(func(r *models.Rotation) { r.ClientID = "c2" })},
		{"at the absolute limit", rotation(sess.ID, 1, sess.ExpiresAt)},
		{"past the absolute limit", rotation(sess.ID, 1, sess.ExpiresAt.Add(time.Second))},
		{"idle", with(func(r *models.Rotation) { r.UsedAfter = sess.LastUsedAt })},
	} {
		if _, ok, err := s.RotateRefresh(ctx, tc.r); ok || err != nil {
			t.Fatalf("%s: %v, %v; want false", tc.name, ok, err)
		}
	}
	check := func(when string) {
		t.Helper()
		got, _ := s.Session(ctx, sess.ID)
		if got.RefreshGen != 1 || !got.RotatedAt.IsZero() || !got.LastUsedAt.Equal(sess.LastUsedAt.Truncate(time.Microsecond)) {
			t.Fatalf("%s: a refused rotation changed the session: %+v", when, got)
		}
	}
	check("after the refusals")

	// A disabled user and an ended session refuse too.
	if _, _, err := s.DisableUser(ctx, "alice", now); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.RotateRefresh(ctx, rotation(sess.ID, 1, now)); ok || err != nil {
		t.Fatalf("disabled user: %v, %v", ok, err)
	}
	if err := s.CreateUser(ctx, models.User{ID: "u2", Username: "bob", PasswordHash: "h", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	s2 := models.Session{ID: "s2", UserID: "u2", ClientID: "c1", Scope: "read", CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(time.Hour),
		RefreshGen: 1, RefreshCheck: hash("nonce-s2")}
	if _, err := s.CreateSession(ctx, s2, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EndSession(ctx, "s2", models.SessionEnd{At: now, Reason: models.EndAdmin}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.RotateRefresh(ctx, rotation("s2", 1, now)); ok || err != nil {
		t.Fatalf("ended session: %v, %v", ok, err)
	}
}

// testRotateParallel races 100 one-step rotations and 100 full-rules
// rotations of one generation: exactly one wins, none fails, and the
// session is at the next generation.
func testRotateParallel(t *testing.T, s Store) {
	sess, _ := seed(t, s)
	const n = 200
	var wg sync.WaitGroup
	var wins atomic.Int32
	errs := make([]error, n)
	start := make(chan struct{})
	now := t0.Add(time.Minute)
	for i := range n {
		wg.Go(func() {
			<-start
			var won bool
			if i%2 == 0 {
				_, won, errs[i] = s.RotateRefresh(t.Context(), rotation(sess.ID, 1, now))
			} else {
				errs[i] = s.UseRefresh(t.Context(), key(sess.ID), func(st models.RefreshState) (models.RefreshChange, error) {
					won = st.Session.RefreshGen == 1
					return rotateOrReplay(1, now)(st)
				})
			}
			if errs[i] == nil && won {
				wins.Add(1)
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
	if got, _ := s.Session(t.Context(), sess.ID); got.RefreshGen != 2 {
		t.Fatalf("generation %d, want 2", got.RefreshGen)
	}
}

// testRotateChainsParallel runs many sessions' chains at once, each worker
// always presenting its newest generation: no refusal and no error.
func testRotateChainsParallel(t *testing.T, s Store) {
	seed(t, s)
	const workers, steps = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		id := string(rune('a'+w)) + "-chain"
		addSession(t, s, id, t0, 0)
		wg.Go(func() {
			for i := range steps {
				ok, err := rotateAny(t, s, rotation(id, int64(i+1), t0.Add(time.Duration(i+1)*time.Second)))
				if err == nil && !ok {
					err = errors.New(id + ": newest generation refused")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// testRotateEndRace races one-step rotations along the chain with the
// session's revocation: the session ends, and no rotation follows the end.
func testRotateEndRace(t *testing.T, s Store) {
	sess, _ := seed(t, s)
	var wg sync.WaitGroup
	var last atomic.Int64
	wg.Go(func() {
		for i := range 50 {
			ok, err := rotateAny(t, s, rotation(sess.ID, int64(i+1), t0.Add(time.Duration(i+1)*time.Second)))
			if err != nil {
				t.Error(err)
			}
			if !ok {
				return
			}
			last.Store(int64(i + 2))
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
	if want := max(last.Load(), 1); got.RefreshGen != want {
		t.Fatalf("generation %d, want %d (the last rotation that succeeded)", got.RefreshGen, want)
	}
	if _, ok, err := s.RotateRefresh(t.Context(), rotation(sess.ID, got.RefreshGen, t0)); ok || err != nil {
		t.Fatalf("rotation after the end: %v, %v", ok, err)
	}
}
