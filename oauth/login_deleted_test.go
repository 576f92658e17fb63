package oauth_test

import (
	"context"
	"testing"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/models/storetest"
	"github.com/batonhq/baton/oauth"
)

// deletingStore deletes the user just before a session of it is created:
// a user deleted while its login was under way.
type deletingStore struct {
	storetest.Store
	username string
}

func (s deletingStore) CreateSession(ctx context.Context, sess models.Session, maxPerUser int) ([]string, error) {
	if _, err := s.Store.DeleteUser(ctx, s.username); err != nil {
		return nil, err
	}
	return s.Store.CreateSession(ctx, sess, maxPerUser)
}

// TestLoginOfDeletedUser: a login whose user is deleted before its session
// is stored answers invalid_grant (not a server error), and leaves no
// session behind; on both databases.
func TestLoginOfDeletedUser(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			f := newFixture(t, deletingStore{Store: store, username: "alice"})
			_, err := f.svc.Tokens.Token(t.Context(), oauth.TokenRequest{GrantType: "password", Client: public(),
				Username: "alice", Password: password})
			wantCode(t, err, "invalid_grant")
			if page, err := store.SessionsByUser(t.Context(), f.user.ID, "", 10); err != nil || len(page) != 0 {
				t.Fatalf("sessions left: %d, %v", len(page), err)
			}
		})
	}
}
