package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
)

// testUsersList: Users pages by username in byte order, whatever the
// database's collation, and an after that names no user still pages.
func testUsersList(t *testing.T, s Store) {
	ctx := t.Context()
	names := []string{"bob", "Zed", "alice", "carol", "émile", "Bob"}
	for i, n := range names {
		u := models.User{ID: fmt.Sprintf("u%d", i), Username: n, PasswordHash: "h", CreatedAt: t0}
		if i == 0 {
			u.Roles, u.Disabled = []string{"admin"}, true
		}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	want := slices.Sorted(slices.Values(names)) // byte order: "Bob" "Zed" "alice" …
	var got []string
	after := ""
	for range len(names) {
		page, err := s.Users(ctx, after, 4)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page {
			got = append(got, u.Username)
		}
		if len(page) < 4 {
			break
		}
		after = page[len(page)-1].Username
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged users %q, want %q", got, want)
	}
	page, err := s.Users(ctx, "b", 10) // not a username: the page starts after it
	if err != nil || len(page) != 3 || page[0].Username != "bob" {
		t.Fatalf("after a missing name: %+v, %v", page, err)
	}
	if u := page[0]; u.ID != "u0" || !u.Disabled || !slices.Equal(u.Roles, []string{"admin"}) || !u.CreatedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("listed user %+v", u)
	}
	if page, err := s.Users(ctx, "émile", 10); err != nil || len(page) != 0 {
		t.Fatalf("past the end: %+v, %v", page, err)
	}
}

// testUpdateUser: UpdateUser stores the password hash, roles and disabled
// flag fn returns, keeps the identity, ends the sessions only when asked,
// and writes nothing when fn fails.
func testUpdateUser(t *testing.T, s Store) {
	ctx := t.Context()
	sess, _ := seed(t, s)
	u, n, err := s.UpdateUser(ctx, "alice", func(u models.User) (models.User, *models.SessionEnd, error) {
		if u.ID != "u1" || u.PasswordHash != "h" {
			t.Errorf("fn got %+v", u)
		}
		u.PasswordHash, u.Roles, u.ID, u.Username = "h2", []string{"admin"}, "other", "mallory"
		return u, nil, nil
	})
	if err != nil || n != 0 || u.ID != "u1" || u.Username != "alice" || u.PasswordHash != "h2" {
		t.Fatalf("update: %+v, %d, %v", u, n, err)
	}
	stored, _ := s.UserByUsername(ctx, "alice")
	if stored.ID != "u1" || stored.PasswordHash != "h2" || !slices.Equal(stored.Roles, []string{"admin"}) || stored.Disabled {
		t.Fatalf("stored %+v", stored)
	}
	if got, _ := s.Session(ctx, sess.ID); got.Ended() {
		t.Fatal("an update without SessionEnd ended a session")
	}
	refuse := errors.New("refused")
	if _, _, err := s.UpdateUser(ctx, "alice", func(u models.User) (models.User, *models.SessionEnd, error) {
		u.PasswordHash, u.Disabled = "h3", true
		return u, &models.SessionEnd{At: t0, Reason: models.EndAdmin}, refuse
	}); !errors.Is(err, refuse) {
		t.Fatalf("refused update: %v", err)
	}
	if got, _ := s.UserByUsername(ctx, "alice"); got.PasswordHash != "h2" || got.Disabled {
		t.Fatalf("a refused update wrote %+v", got)
	}
	if got, _ := s.Session(ctx, sess.ID); got.Ended() {
		t.Fatal("a refused update ended a session")
	}
	end := models.SessionEnd{At: t0.Add(time.Minute), Reason: models.EndUserDisabled}
	u, n, err = s.UpdateUser(ctx, "alice", func(u models.User) (models.User, *models.SessionEnd, error) {
		u.Disabled, u.Roles = true, nil
		return u, &end, nil
	})
	if err != nil || n != 1 || !u.Disabled || len(u.Roles) != 0 {
		t.Fatalf("disable: %+v, %d, %v", u, n, err)
	}
	if got, _ := s.Session(ctx, sess.ID); !got.Ended() || got.EndReason != models.EndUserDisabled {
		t.Fatalf("session after disabling update: %+v", got)
	}
	if _, _, err := s.UpdateUser(ctx, "nobody", func(u models.User) (models.User, *models.SessionEnd, error) { return u, nil, nil }); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}

// testDeleteUser: DeleteUser removes the user with its sessions, their
// tokens, its codes and consents, and leaves other users alone.
func testDeleteUser(t *testing.T, s Store) {
	ctx := t.Context()
	code := seedCode(t, s, "code1") // alice (u1), c1, session s1 with rt1
	if err := s.AddConsent(ctx, "u1", "c1", []string{"read"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, models.User{ID: "u2", Username: "bob", PasswordHash: "h", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	bobs := models.Session{ID: "s2", UserID: "u2", ClientID: "c1", Scope: "read", CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(time.Hour),
		RefreshGen: 1, RefreshCheck: hash("nonce-s2")}
	if _, err := s.CreateSession(ctx, bobs, 0); err != nil {
		t.Fatal(err)
	}
	u, err := s.DeleteUser(ctx, "alice")
	if err != nil || u.ID != "u1" {
		t.Fatalf("delete: %+v, %v", u, err)
	}
	if _, err := s.UserByUsername(ctx, "alice"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("deleted user still read: %v", err)
	}
	if _, err := s.Session(ctx, "s1"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("session of a deleted user: %v", err)
	}
	if _, err := s.AuthorizationCode(ctx, code.Hash); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("code of a deleted user: %v", err)
	}
	if got, err := s.Consent(ctx, "u1", "c1"); err != nil || len(got) != 0 {
		t.Fatalf("consent of a deleted user: %q, %v", got, err)
	}
	if got, err := s.Session(ctx, "s2"); err != nil || got.Ended() || got.RefreshGen != 1 {
		t.Fatalf("another user's session: %+v, %v", got, err)
	}
	if _, err := s.DeleteUser(ctx, "alice"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("delete again: %v", err)
	}
	// The username is free again.
	if err := s.CreateUser(ctx, models.User{ID: "u3", Username: "alice", PasswordHash: "h", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
}

// testDeleteUserRacesLogins: logins (CreateSession, with and without the
// per-user limit) racing the deletion of their user leave no session or
// refresh token of the deleted user behind: each login either commits
// before the delete, and is deleted with the user, or fails.
func testDeleteUserRacesLogins(t *testing.T, s Store) {
	ctx := t.Context()
	seed(t, s)
	const n = 24
	var logins sync.WaitGroup
	start := make(chan struct{})
	created := make(chan string, n)
	first := make(chan struct{}) // the delete starts once a login has committed
	var once sync.Once
	for i := range n {
		logins.Add(1)
		go func() {
			defer logins.Done()
			<-start
			if i >= n/2 {
				<-first // the second half races the delete
			}
			id := fmt.Sprintf("race%d", i)
			sess := models.Session{ID: id, UserID: "u1", ClientID: "c1", Scope: "read", CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(time.Hour),
				RefreshGen: 1, RefreshCheck: hash(id)}
			if _, err := s.CreateSession(ctx, sess, i%2*100); err == nil {
				created <- id
				once.Do(func() { close(first) })
			}
		}()
	}
	loginsDone := make(chan struct{})
	deleted := make(chan error, 1)
	go func() {
		select {
		case <-first:
		case <-loginsDone:
		}
		_, err := s.DeleteUser(ctx, "alice")
		deleted <- err
	}()
	close(start)
	logins.Wait()
	close(loginsDone)
	close(created)
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
	ok := 0
	for range created {
		ok++
	}
	if ok == 0 || ok == n {
		t.Logf("no race: %d of %d logins committed", ok, n)
	}
	for i := range n {
		id := fmt.Sprintf("race%d", i)
		if _, err := s.Session(ctx, id); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("session %s of the deleted user: %v (%d logins succeeded)", id, err, ok)
		}
	}
	if page, err := s.SessionsByUser(ctx, "u1", "", 100); err != nil || len(page) != 0 {
		t.Fatalf("sessions of the deleted user: %d, %v", len(page), err)
	}
	t.Logf("%d of %d logins committed before the delete", ok, n)
}
