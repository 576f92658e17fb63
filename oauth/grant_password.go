package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	user, err := s.login(ctx, req.Username, req.Password, req.RemoteAddr)
	if err != nil {
		return TokenResponse{}, err
	}
	scope = s.forUser(scope, user)
	sess, refresh, err := s.startSession(ctx, user.ID, client.ID, scope, time.Time{}, newID())
	if err != nil {
		return TokenResponse{}, err
	}
	return s.issueWithID(ctx, sess, scope, refresh, "")
}

// login checks a username and password under the throttle (SPEC §3): the
// password grant and the login page of the authorization code flow share
// it, so both have the same throttling and hashing budget. The attempt is
// counted before the hash runs (reserveAttempt), so that concurrent
// guesses cannot all pass one check.
func (s *Service) login(ctx context.Context, username, password, remoteAddr string) (models.User, error) {
	keys := throttleKeys(username, remoteAddr)
	if err := s.reserveAttempt(ctx, keys); err != nil {
		return models.User{}, err
	}
	user, err := s.checkPassword(ctx, username, password)
	switch {
	case err == nil:
		// A success forgets the username's failures and takes its attempt
		// back off the address, so that the users behind one NAT who log
		// in do not add up.
		if err := s.releaseAttempt(ctx, keys[:1], keys[1:]); err != nil {
			return models.User{}, err
		}
		return user, nil
	case !errors.Is(err, ErrInvalidGrant):
		// Nothing was tried: the hasher refused, the caller gave up before
		// its hash ran (a hash that ran answers whatever the caller does),
		// or the database failed. Only a wrong password is a failure. The
		// release outlives a caller that is gone.
		if rerr := s.releaseAttempt(context.WithoutCancel(ctx), nil, keys); rerr != nil {
			s.log.WarnContext(ctx, "release login attempt", "err", rerr)
		}
	}
	return models.User{}, err
}

// startSession starts a session with its first refresh token: what every
// login does, whichever grant it came through. authTime is when the user
// authenticated (zero: now); sid is the new session's id.
func (s *Service) startSession(ctx context.Context, userID, clientID string, scope []string, authTime time.Time, sid string) (models.Session, string, error) {
	now := s.now()
	nonce := newNonce()
	sess := models.Session{
		ID:         sid,
		UserID:     userID,
		ClientID:   clientID,
		Scope:      joinScope(scope),
		CreatedAt:  now,
		LastUsedAt: now,
		ExpiresAt:  now.Add(s.opts.SessionMaxTTL),
		AuthTime:   authTime,
		RefreshGen: 1,
		// The nonce itself is never stored: only the tokens carry it.
		RefreshCheck: refreshCheck(nonce),
	}
	refresh := s.refreshKey.mint(sess.ID, 1, nonce)
	replaced, err := s.store.CreateSession(ctx, sess, s.opts.MaxSessionsPerUser)
	if err != nil {
		// Not found: the user (or the client) was deleted while the login was under way.
		return models.Session{}, "", fromStore(err, "create session",
			onNotFound(ErrInvalidGrant.Describe("the user can no longer log in")))
	}
	s.log.InfoContext(ctx, "session started", "session_id", sess.ID, "user_id", userID, "client_id", clientID)
	s.opts.Metrics.SessionsEnded(models.EndReplaced, len(replaced))
	for _, id := range replaced {
		s.log.InfoContext(ctx, "session ended", "session_id", id, "user_id", userID, "reason", models.EndReplaced)
	}
	return sess, refresh, nil
}

// checkPassword verifies the user's password. An unknown user costs the same
// hash as a known one, and every failure looks alike to the client.
func (s *Service) checkPassword(ctx context.Context, username, password string) (models.User, error) {
	bad := ErrInvalidGrant.Describe("invalid username or password")
	user, err := s.store.UserByUsername(ctx, username)
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
