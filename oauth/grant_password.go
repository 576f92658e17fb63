package oauth

import (
	"context"
	"time"

	"github.com/batonhq/baton/models"
)

// passwordGrant is the resource owner password credentials grant
// (RFC 6749 §4.3). It starts a new session.
func (s *Tokens) passwordGrant(ctx context.Context, client models.Client, req TokenRequest) (TokenResponse, error) {
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

// startSession starts a session with its first refresh token: what every
// login does, whichever grant it came through. authTime is when the user
// authenticated (zero: now); sid is the new session's id.
func (s *Tokens) startSession(ctx context.Context, userID, clientID string, scope []string, authTime time.Time, sid string) (models.Session, string, error) {
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
