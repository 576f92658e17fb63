package oauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/batonhq/baton/models"
)

// login checks a username and password under the throttle (SPEC §3): the
// password grant and the login page of the authorization code flow share
// it, so both have the same throttling and hashing budget. The attempt is
// counted before the hash runs (throttle.reserve), so that concurrent
// guesses cannot all pass one check.
func (s *shared) login(ctx context.Context, username, password, remoteAddr string) (models.User, error) {
	keys := throttleKeys(username, remoteAddr)
	if err := s.throttle.reserve(ctx, keys); err != nil {
		return models.User{}, err
	}
	user, err := s.checkPassword(ctx, username, password)
	switch {
	case err == nil:
		// A success forgets the username's failures and takes its attempt
		// back off the address, so that the users behind one NAT who log
		// in do not add up.
		if err := s.throttle.release(ctx, keys[:1], keys[1:]); err != nil {
			return models.User{}, err
		}
		return user, nil
	case !errors.Is(err, ErrInvalidGrant):
		// Nothing was tried: the hasher refused, the caller gave up before
		// its hash ran (a hash that ran answers whatever the caller does),
		// or the database failed. Only a wrong password is a failure. The
		// release outlives a caller that is gone.
		if rerr := s.throttle.release(context.WithoutCancel(ctx), nil, keys); rerr != nil {
			s.log.WarnContext(ctx, "release login attempt", "err", rerr)
		}
	}
	return models.User{}, err
}

// checkPassword verifies the user's password. An unknown user costs the same
// hash as a known one, and every failure looks alike to the client.
func (s *shared) checkPassword(ctx context.Context, username, password string) (models.User, error) {
	bad := ErrInvalidGrant.Describe("invalid username or password")
	user, err := s.users.UserByUsername(ctx, username)
	unknown := err != nil
	if err := fromStore(err, "load user", onNotFound(nil)); err != nil {
		return models.User{}, err
	}
	ok, verr := s.hasher.Verify(ctx, user.PasswordHash, password)
	switch {
	case verr != nil:
		return models.User{}, fmt.Errorf("verify password: %w", verr)
	case unknown || !ok:
		return models.User{}, bad
	case user.Disabled:
		return models.User{}, bad
	}
	return user, nil
}
