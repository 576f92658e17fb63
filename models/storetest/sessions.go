package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
)

// addSession stores another session of user u1 and client c1 (seed first).
func addSession(t *testing.T, s Store, id string, created time.Time, maxPerUser int) []string {
	t.Helper()
	ended, err := s.CreateSession(t.Context(),
		models.Session{ID: id, UserID: "u1", ClientID: "c1", Scope: "read", CreatedAt: created, LastUsedAt: created, ExpiresAt: created.Add(time.Hour),
			RefreshGen: 1, RefreshCheck: hash("nonce-" + id)}, maxPerUser)
	if err != nil {
		t.Fatal(err)
	}
	return ended
}

func testDisableUser(t *testing.T, s Store) {
	sess, _ := seed(t, s)
	addSession(t, s, "s2", t0.Add(time.Second), 0)
	u, n, err := s.DisableUser(t.Context(), "alice", t0.Add(time.Minute))
	if err != nil || !u.Disabled || u.ID != "u1" || n != 2 {
		t.Fatalf("DisableUser = %+v, %d, %v; want 2 sessions ended", u, n, err)
	}
	for _, id := range []string{sess.ID, "s2"} {
		got, _ := s.Session(t.Context(), id)
		if !got.Ended() || got.EndReason != models.EndUserDisabled {
			t.Fatalf("session %s: %+v", id, got)
		}
	}
	if got, _ := s.UserByID(t.Context(), "u1"); !got.Disabled {
		t.Fatal("user not disabled")
	}
	if _, _, err := s.DisableUser(t.Context(), "nobody", t0); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}

func testSessionLists(t *testing.T, s Store) {
	seed(t, s)
	for i := 1; i <= 6; i++ {
		addSession(t, s, fmt.Sprintf("s%d", i+1), t0.Add(time.Duration(i)*time.Second), 0)
	}
	var all []string
	after := ""
	for {
		page, err := s.SessionsByUser(t.Context(), "u1", after, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page {
			all = append(all, p.ID)
		}
		if len(page) < 3 {
			break
		}
		after = page[len(page)-1].ID
	}
	want := "[s7 s6 s5 s4 s3 s2 s1]"
	if fmt.Sprint(all) != want {
		t.Fatalf("pages %v, want %s", all, want)
	}
	sess, u, err := s.SessionWithUser(t.Context(), "s3")
	if err != nil || sess.ID != "s3" || u.Username != "alice" || u.Disabled {
		t.Fatalf("SessionWithUser = %+v %+v %v", sess, u, err)
	}
	if _, _, err := s.SessionWithUser(t.Context(), "nope"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown session: %v", err)
	}
}

func testEndSessions(t *testing.T, s Store) {
	seed(t, s)
	addSession(t, s, "s2", t0, 0)
	addSession(t, s, "s3", t0, 0)
	end := models.SessionEnd{At: t0.Add(time.Minute), Reason: models.EndAdmin}
	if ok, err := s.EndSession(t.Context(), "s1", end); !ok || err != nil {
		t.Fatalf("EndSession = %v, %v", ok, err)
	}
	if ok, err := s.EndSession(t.Context(), "s1", models.SessionEnd{At: t0, Reason: models.EndLogout}); ok || err != nil {
		t.Fatalf("second EndSession = %v, %v", ok, err)
	}
	if got, _ := s.Session(t.Context(), "s1"); got.EndReason != models.EndAdmin {
		t.Fatalf("the first end must stand: %q", got.EndReason)
	}
	if _, err := s.EndSession(t.Context(), "nope", end); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown session: %v", err)
	}
	n, err := s.EndUserSessions(t.Context(), "u1", models.SessionEnd{At: t0, Reason: models.EndLogout})
	if err != nil || n != 2 {
		t.Fatalf("EndUserSessions = %d, %v; want 2", n, err)
	}
}

// testMaxSessionsParallel: 50 concurrent logins of one user with a limit of
// 3 leave exactly 3 live sessions, the others ended as replaced.
func testMaxSessionsParallel(t *testing.T, s Store) {
	seed(t, s)
	const n, limit = 50, 3
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			created := t0.Add(time.Duration(i+1) * time.Millisecond)
			_, errs[i] = s.CreateSession(t.Context(),
				models.Session{ID: fmt.Sprintf("p%02d", i), UserID: "u1", ClientID: "c1", CreatedAt: created, LastUsedAt: created, ExpiresAt: created.Add(time.Hour),
					RefreshGen: 1, RefreshCheck: randomHash()}, limit)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.SessionsByUser(t.Context(), "u1", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, sess := range all {
		switch {
		case !sess.Ended():
			live++
		case sess.EndReason != models.EndReplaced:
			t.Fatalf("session %s ended as %q", sess.ID, sess.EndReason)
		}
	}
	if live != limit || len(all) != n+1 {
		t.Fatalf("%d live of %d sessions, want %d live of %d", live, len(all), limit, n+1)
	}
}

// testIdleSweepByDay: the idle sweep ends exactly the sessions last used
// at or before the idle limit, whether they were last used days before it,
// earlier on its day or at its very microsecond, and none used after it on
// the same day or later; a session whose last use moved on by a refresh is
// judged by that use (the store may index the day of the last use).
func testIdleSweepByDay(t *testing.T, s Store) {
	seed(t, s) // s1: expires t0+1h, so past its absolute limit below
	ctx := t.Context()
	idle := 30 * 24 * time.Hour
	limit := t0.Add(10 * 24 * time.Hour) // 10:00 on its day
	now := limit.Add(idle)
	used := map[string]time.Time{
		"old": limit.Add(-5 * 24 * time.Hour), "earlier": limit.Add(-time.Hour), "edge": limit,
		"later": limit.Add(time.Microsecond), "next-day": limit.Add(20 * time.Hour), "moved": limit.Add(-3 * 24 * time.Hour),
	}
	for id, at := range used {
		if _, err := s.CreateSession(ctx, models.Session{ID: id, UserID: "u1", ClientID: "c1", Scope: "read", CreatedAt: at,
			LastUsedAt: at, ExpiresAt: now.Add(24 * time.Hour), RefreshGen: 1, RefreshCheck: hash("nonce-" + id)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UseRefresh(ctx, key("moved"), rotateOrReplay(1, now.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	n, err := s.EndExpiredSessions(ctx, now, idle, 100)
	if err != nil || n != 4 {
		t.Fatalf("EndExpiredSessions = %d, %v; want 4 (s1, old, earlier, edge)", n, err)
	}
	for id, want := range map[string]string{"s1": models.EndAbsolute, "old": models.EndIdle, "earlier": models.EndIdle, "edge": models.EndIdle,
		"later": "", "next-day": "", "moved": ""} {
		got, err := s.Session(ctx, id)
		if err != nil || got.EndReason != want {
			t.Errorf("%s: end reason %q (%v), want %q", id, got.EndReason, err, want)
		}
		if want == models.EndIdle && !got.EndedAt.Equal(used[id].Add(idle).Truncate(time.Microsecond)) {
			t.Errorf("%s ended at %v, want its last use + the idle limit, %v", id, got.EndedAt, used[id].Add(idle))
		}
	}
}

func testExpireAndPurge(t *testing.T, s Store) {
	seed(t, s) // s1: created t0, expires t0+1h
	ctx := t.Context()
	if err := s.UseRefresh(ctx, key("s1"), rotateOrReplay(1, t0.Add(55*time.Minute))); err != nil {
		t.Fatal(err) // s1 last used at t0+55m: its absolute limit comes first
	}
	addSession(t, s, "s2", t0.Add(30*time.Minute), 0) // idle from t0+40m
	addSession(t, s, "s3", t0.Add(55*time.Minute), 0) // lives on
	now, idle := t0.Add(time.Hour), 10*time.Minute
	n, err := s.EndExpiredSessions(ctx, now, idle, 100)
	if err != nil || n != 2 {
		t.Fatalf("EndExpiredSessions = %d, %v; want 2", n, err)
	}
	for id, want := range map[string]struct {
		reason string
		at     time.Time
	}{"s1": {models.EndAbsolute, t0.Add(time.Hour)}, "s2": {models.EndIdle, t0.Add(40 * time.Minute)}} {
		got, _ := s.Session(ctx, id)
		if got.EndReason != want.reason || !got.EndedAt.Equal(want.at.Truncate(time.Microsecond)) {
			t.Fatalf("%s ended %q at %v, want %q at %v", id, got.EndReason, got.EndedAt, want.reason, want.at)
		}
	}
	if got, _ := s.Session(ctx, "s3"); got.Ended() {
		t.Fatal("a live session was ended")
	}
	// Sessions keep no token rows; legacy ones are purged in gormstore's tests.
	if n, err := s.PurgeTokens(ctx, now.Add(time.Second), 10); err != nil || n != 0 {
		t.Fatalf("PurgeTokens = %d, %v; want 0", n, err)
	}
	if cur, _ := s.CurrentRefreshTokens(ctx, "s3"); len(cur) != 1 {
		t.Fatal("a live session lost its token")
	}
	if cur, _ := s.CurrentRefreshTokens(ctx, "s1"); len(cur) != 0 {
		t.Fatal("an ended session has a current token")
	}
	if n, err := s.PurgeSessions(ctx, now.Add(time.Second), 10); err != nil || n != 2 {
		t.Fatalf("PurgeSessions = %d, %v", n, err)
	}
	if _, err := s.Session(ctx, "s1"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("purged session still there: %v", err)
	}
}
