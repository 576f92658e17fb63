package oauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/batonhq/baton/models"
)

// passwordGrant is the resource owner password credentials grant
// (RFC 6749 §4.3). It starts a new session.
func (s *Service) passwordGrant(ctx context.Context, client models.Client, req TokenRequest) (TokenResponse, error) {
	if req.Username == "" || req.Password == "" {
		return TokenResponse{}, ErrInvalidRequest.Describe("username and password are required")
	}
	scope, err := s.userScope(req.Scope, req.ScopeGiven, client.Scopes)
	if err != nil {
		return TokenResponse{}, err
	}
	keys := throttleKeys(req.Username, req.RemoteAddr)
	if err := s.reserveAttempt(ctx, keys); err != nil {
		return TokenResponse{}, err
	}
	user, err := s.checkPassword(ctx, req.Username, req.Password)
	switch {
	case err == nil:
		// A success forgets the username's failures and takes its attempt
		// back off the address, so that the users behind one NAT who log
		// in do not add up.
		if err := s.releaseAttempt(ctx, keys[:1], keys[1:]); err != nil {
			return TokenResponse{}, err
		}
	case errors.Is(err, ErrTemporarilyUnavail):
		// The hasher refused: nothing was tried. (An attempt whose caller
		// gave up keeps its reservation: it may have been hashed, and a
		// flood of abandoned attempts must meet the throttle too.)
		if rerr := s.releaseAttempt(ctx, nil, keys); rerr != nil {
			s.log.WarnContext(ctx, "release login attempt", "err", rerr)
		}
		return TokenResponse{}, err
	default:
		return TokenResponse{}, err
	}
	scope = s.forUser(scope, user)
	now := s.now()
	refresh := newOpaque(tokenBytes)
	sess := models.Session{
		ID:         newID(),
		UserID:     user.ID,
		ClientID:   client.ID,
		Scope:      joinScope(scope),
		CreatedAt:  now,
		LastUsedAt: now,
		ExpiresAt:  now.Add(s.opts.SessionMaxTTL),
	}
	first := models.RefreshToken{Hash: hashToken(refresh), SessionID: sess.ID, CreatedAt: now}
	replaced, err := s.store.CreateSession(ctx, sess, first, s.opts.MaxSessionsPerUser)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("create session: %w", err)
	}
	s.log.InfoContext(ctx, "session started", "session_id", sess.ID, "user_id", user.ID, "client_id", client.ID)
	s.opts.Metrics.SessionsEnded(models.EndReplaced, len(replaced))
	for _, id := range replaced {
		s.log.InfoContext(ctx, "session ended", "session_id", id, "user_id", user.ID, "reason", models.EndReplaced)
	}
	return s.issue(ctx, user.ID, client.ID, sess.ID, scope, refresh)
}

// checkPassword verifies the user's password. An unknown user costs the same
// hash as a known one, and every failure looks alike to the client.
func (s *Service) checkPassword(ctx context.Context, username, password string) (models.User, error) {
	bad := ErrInvalidGrant.Describe("invalid username or password")
	user, err := s.store.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return models.User{}, fmt.Errorf("load user: %w", err)
	}
	ok, verr := s.hasher.Verify(ctx, user.PasswordHash, password)
	switch {
	case verr != nil:
		return models.User{}, fmt.Errorf("verify password: %w", verr)
	case err != nil || !ok:
		return models.User{}, bad
	case user.Disabled:
		return models.User{}, bad
	}
	return user, nil
}
