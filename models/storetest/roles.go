package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/batonhq/baton/models"
)

// testRoles: roles are stored with the user, read back by every user
// lookup (SessionWithUser included), and changed only by UpdateUserRoles.
func testRoles(t *testing.T, s Store) {
	ctx := t.Context()
	sess, _ := seed(t, s) // alice, no roles
	if err := s.CreateUser(ctx, models.User{ID: "u2", Username: "root", PasswordHash: "h", Roles: []string{"admin"}, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if u, err := s.UserByUsername(ctx, "root"); err != nil || !slices.Equal(u.Roles, []string{"admin"}) {
		t.Fatalf("root: %+v, %v", u, err)
	}
	if u, err := s.UserByID(ctx, "u1"); err != nil || len(u.Roles) != 0 {
		t.Fatalf("alice: %+v, %v", u, err)
	}
	u, err := s.UpdateUserRoles(ctx, "alice", func(r []string) ([]string, error) { return append(r, "admin"), nil })
	if err != nil || !slices.Equal(u.Roles, []string{"admin"}) || u.ID != "u1" {
		t.Fatalf("grant: %+v, %v", u, err)
	}
	if _, got, err := s.SessionWithUser(ctx, sess.ID); err != nil || !slices.Equal(got.Roles, []string{"admin"}) {
		t.Fatalf("SessionWithUser roles %q, %v", got.Roles, err)
	}
	refuse := errors.New("refused")
	if _, err := s.UpdateUserRoles(ctx, "alice", func([]string) ([]string, error) { return nil, refuse }); !errors.Is(err, refuse) {
		t.Fatalf("refused update: %v", err)
	}
	if u, _ := s.UserByUsername(ctx, "alice"); !slices.Equal(u.Roles, []string{"admin"}) {
		t.Fatalf("a refused update wrote %q", u.Roles)
	}
	if _, err := s.UpdateUserRoles(ctx, "nobody", func(r []string) ([]string, error) { return r, nil }); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if _, err := s.UpdateUserRoles(ctx, "alice", func([]string) ([]string, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if _, got, _ := s.SessionWithUser(ctx, sess.ID); len(got.Roles) != 0 {
		t.Fatalf("revoked role still read: %q", got.Roles)
	}
}

// testRolesParallel: concurrent updates of one user's roles lose none.
func testRolesParallel(t *testing.T, s Store) {
	seed(t, s)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateUserRoles(t.Context(), "alice", func(r []string) ([]string, error) {
				return append(r, fmt.Sprintf("r%d", i)), nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if u, _ := s.UserByUsername(t.Context(), "alice"); len(u.Roles) != n {
		t.Fatalf("%d roles after %d concurrent grants: %q", len(u.Roles), n, u.Roles)
	}
}
