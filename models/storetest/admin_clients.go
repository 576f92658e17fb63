package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
)

// testClientsList: clients come in id order, in keyset pages.
func testClientsList(t *testing.T, s Store) {
	ctx := t.Context()
	if got, err := s.Clients(ctx, "", 10); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v, %v", got, err)
	}
	ids := []string{"b", "a", "d", "c", "e"}
	for _, id := range ids {
		if err := s.CreateClient(ctx, models.Client{ID: id, Public: true, Grants: []string{"password"}, Scopes: []string{"read"}, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	after := ""
	for range 4 {
		page, err := s.Clients(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			seen = append(seen, c.ID)
			if !slices.Equal(c.Grants, []string{"password"}) || !c.Public {
				t.Fatalf("listed client %+v", c)
			}
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].ID
	}
	if want := []string{"a", "b", "c", "d", "e"}; !slices.Equal(seen, want) {
		t.Fatalf("pages gave %q, want %q", seen, want)
	}
}

// testUpdateClient: UpdateClient stores what fn returns except the id,
// Public and CreatedAt, and nothing when fn fails.
// testClientsVersion: every committed change of a client increases
// ClientsVersion; a read, a failed change and a change of something else
// do not.
func testClientsVersion(t *testing.T, s Store) {
	ctx := t.Context()
	last := int64(-1)
	step := func(what string, changed bool) {
		t.Helper()
		v, err := s.ClientsVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if last >= 0 && (v > last) != changed {
			t.Fatalf("after %s: version %d, before %d; want it increased: %v", what, v, last, changed)
		}
		last = v
	}
	step("nothing", false)
	if err := s.CreateClient(ctx, models.Client{ID: "c1", SecretHash: "h1", Grants: []string{"password"}, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	step("a client created", true)
	if err := s.CreateClient(ctx, models.Client{ID: "c1", CreatedAt: t0}); !errors.Is(err, models.ErrAlreadyExists) {
		t.Fatalf("duplicate client: %v", err)
	}
	if _, err := s.Client(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateClient(ctx, "c1", func(c models.Client) (models.Client, error) { return c, errors.New("refused") }); err == nil {
		t.Fatal("a refused change was written")
	}
	if err := s.CreateUser(ctx, models.User{ID: "u1", Username: "alice", PasswordHash: "h", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	step("a read, a duplicate, a refused change and a user", false)
	if _, err := s.UpdateClient(ctx, "c1", func(c models.Client) (models.Client, error) { c.SecretHash = "h2"; return c, nil }); err != nil {
		t.Fatal(err)
	}
	step("a secret changed", true)
	if _, err := s.DeleteClient(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	step("a client deleted", true)
}

func testUpdateClient(t *testing.T, s Store) {
	ctx := t.Context()
	orig := models.Client{ID: "c1", SecretHash: "h1", Grants: []string{"password"}, Scopes: []string{"read"}, CreatedAt: t0}
	if err := s.CreateClient(ctx, orig); err != nil {
		t.Fatal(err)
	}
	got, err := s.UpdateClient(ctx, "c1", func(c models.Client) (models.Client, error) {
		if c.SecretHash != "h1" || !slices.Equal(c.Scopes, []string{"read"}) {
			return c, fmt.Errorf("fn saw %+v", c)
		}
		c.ID, c.Public, c.CreatedAt = "other", true, t0.Add(time.Hour) // not changeable
		c.SecretHash, c.Trusted = "h2", true
		c.Grants = []string{"authorization_code", "refresh_token"}
		c.Scopes = []string{"openid", "read"}
		c.RedirectURIs = []string{"https://a.example/cb"}
		c.AllowedOrigins = []string{"https://a.example"}
		return c, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Client(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []models.Client{got, stored} {
		if c.ID != "c1" || c.Public || !c.CreatedAt.Equal(t0.Truncate(time.Microsecond)) || c.SecretHash != "h2" || !c.Trusted ||
			!slices.Equal(c.Grants, []string{"authorization_code", "refresh_token"}) || !slices.Equal(c.Scopes, []string{"openid", "read"}) ||
			!slices.Equal(c.RedirectURIs, []string{"https://a.example/cb"}) || !slices.Equal(c.AllowedOrigins, []string{"https://a.example"}) {
			t.Fatalf("after update: %+v", c)
		}
	}
	if _, err := s.Clients(ctx, "", 10); err != nil {
		t.Fatal(err)
	}
	refuse := errors.New("refused")
	if _, err := s.UpdateClient(ctx, "c1", func(c models.Client) (models.Client, error) {
		c.SecretHash, c.Grants = "h3", nil
		return c, refuse
	}); !errors.Is(err, refuse) {
		t.Fatalf("refused update: %v", err)
	}
	if c, _ := s.Client(ctx, "c1"); c.SecretHash != "h2" || len(c.Grants) != 2 {
		t.Fatalf("a refused update wrote %+v", c)
	}
	if _, err := s.UpdateClient(ctx, "nobody", func(c models.Client) (models.Client, error) { return c, nil }); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown client: %v", err)
	}
}

// testUpdateClientParallel: concurrent updates of one client each see the
// previous one's result (no lost update).
func testUpdateClientParallel(t *testing.T, s Store) {
	ctx := t.Context()
	if err := s.CreateClient(ctx, models.Client{ID: "c1", Public: true, Grants: []string{"password"}, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := s.UpdateClient(ctx, "c1", func(c models.Client) (models.Client, error) {
				c.Scopes = append(slices.Clone(c.Scopes), fmt.Sprintf("s%d", i))
				return c, nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if c, _ := s.Client(ctx, "c1"); len(c.Scopes) != n {
		t.Fatalf("%d scopes after %d concurrent additions: %q", len(c.Scopes), n, c.Scopes)
	}
}

// testDeleteClient: the client goes with its sessions (and with them the
// refresh tokens they name), codes and consents; another client's are
// untouched.
func testDeleteClient(t *testing.T, s Store) {
	ctx := t.Context()
	sess, _ := seed(t, s) // u1, c1, s1 at generation 1
	if err := s.CreateClient(ctx, models.Client{ID: "c2", Public: true, Grants: []string{"password"}, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	ended := models.Session{ID: "s2", UserID: "u1", ClientID: "c1", Scope: "read", CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(time.Hour),
		RefreshGen: 1, RefreshCheck: hash("nonce-s2")}
	if _, err := s.CreateSession(ctx, ended, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EndSession(ctx, "s2", models.SessionEnd{At: t0, Reason: models.EndLogout}); err != nil {
		t.Fatal(err)
	}
	other := models.Session{ID: "s3", UserID: "u1", ClientID: "c2", Scope: "", CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(time.Hour),
		RefreshGen: 1, RefreshCheck: hash("nonce-s3")}
	if _, err := s.CreateSession(ctx, other, 0); err != nil {
		t.Fatal(err)
	}
	code := models.AuthorizationCode{Hash: hash("code"), ClientID: "c1", UserID: "u1", RedirectURI: "https://a.example/cb",
		CodeChallenge: "x", Scope: "read", AuthTime: t0, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	if err := s.CreateAuthorizationCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	if err := s.AddConsent(ctx, "u1", "c1", []string{"read"}, t0); err != nil {
		t.Fatal(err)
	}
	live, err := s.DeleteClient(ctx, "c1")
	if err != nil || live != 1 {
		t.Fatalf("DeleteClient: %d live sessions, %v; want 1", live, err)
	}
	if _, err := s.Client(ctx, "c1"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("deleted client: %v", err)
	}
	for _, id := range []string{sess.ID, "s2"} {
		if _, err := s.Session(ctx, id); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("session %s of the deleted client: %v", id, err)
		}
	}
	if _, err := s.AuthorizationCode(ctx, code.Hash); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("code of the deleted client: %v", err)
	}
	if sc, err := s.Consent(ctx, "u1", "c1"); err != nil || len(sc) != 0 {
		t.Fatalf("consent of the deleted client: %q, %v", sc, err)
	}
	if got, err := s.Session(ctx, "s3"); err != nil || got.Ended() || got.RefreshGen != 1 || !bytes.Equal(got.RefreshCheck, hash("nonce-s3")) {
		t.Fatalf("another client's session: %+v, %v", got, err)
	}
	if _, err := s.DeleteClient(ctx, "c1"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("deleting again: %v", err)
	}
}
