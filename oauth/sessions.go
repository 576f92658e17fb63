package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/models"
)

// ErrNotFound is returned by the session administration for an unknown
// user or session.
var ErrNotFound = errors.New("oauth: not found")

// SessionInfo is a session as the admin API and CLI show it.
type SessionInfo struct {
	ID         string  `json:"id"`
	Username   string  `json:"username"`
	ClientID   string  `json:"client_id"`
	Scope      string  `json:"scope"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt string  `json:"last_used_at"`
	ExpiresAt  string  `json:"expires_at"` // the earlier of the idle and absolute limits
	RevokedAt  *string `json:"revoked_at"` // null while the session is live (SPEC §2: every field in every item)
	EndReason  *string `json:"end_reason"` // null while the session is live
}

const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

func (s *Admin) info(sess models.Session, username string) SessionInfo {
	out := SessionInfo{
		ID: sess.ID, Username: username, ClientID: sess.ClientID, Scope: sess.Scope,
		CreatedAt:  sess.CreatedAt.UTC().Format(timeFormat),
		LastUsedAt: sess.LastUsedAt.UTC().Format(timeFormat),
		ExpiresAt:  s.sessionExpiry(sess).UTC().Format(timeFormat),
	}
	if sess.Ended() {
		at, reason := sess.EndedAt.UTC().Format(timeFormat), sess.EndReason
		out.RevokedAt, out.EndReason = &at, &reason
	}
	return out
}

// ListSessions returns a page of a user's sessions, newest first, and the
// cursor of the next page ("" on the last one).
func (s *Admin) ListSessions(ctx context.Context, username, after string, limit int) ([]SessionInfo, string, error) {
	u, err := s.user(ctx, username)
	if err != nil {
		return nil, "", err
	}
	read := func(ctx context.Context, after string, n int) ([]models.Session, error) {
		return s.store.SessionsByUser(ctx, u.ID, after, n)
	}
	return pageOf(ctx, read, after, limit, "list sessions", func(sess models.Session) string { return sess.ID },
		func(sess models.Session) SessionInfo { return s.info(sess, u.Username) })
}

// EndSession ends one session with a reason; false if it had already ended.
func (s *Admin) EndSession(ctx context.Context, id, reason string) (bool, error) {
	return s.endSession(ctx, s.store, id, reason)
}

// sessionEnder ends one session (Admin, and Tokens for revocation).
type sessionEnder interface {
	EndSession(ctx context.Context, id string, end models.SessionEnd) (bool, error)
}

func (s *shared) endSession(ctx context.Context, store sessionEnder, id, reason string) (bool, error) {
	ended, err := store.EndSession(ctx, id, models.SessionEnd{At: s.now(), Reason: reason})
	if err != nil {
		return false, fromStore(err, "end session", onNotFound(ErrNotFound))
	}
	if ended {
		s.opts.Metrics.SessionsEnded(reason, 1)
		s.log.InfoContext(ctx, "session ended", "session_id", id, "reason", reason)
	}
	return ended, nil
}

// EndUserSessions ends every live session of a user ("log out everywhere").
func (s *Admin) EndUserSessions(ctx context.Context, username, reason string) (int64, error) {
	u, err := s.user(ctx, username)
	if err != nil {
		return 0, err
	}
	n, err := s.store.EndUserSessions(ctx, u.ID, models.SessionEnd{At: s.now(), Reason: reason})
	if err != nil {
		return 0, fromStore(err, "end sessions")
	}
	s.opts.Metrics.SessionsEnded(reason, int(n))
	s.log.InfoContext(ctx, "sessions ended", "user_id", u.ID, "count", n, "reason", reason)
	return n, nil
}

// DisableUser disables a user: its sessions end and its logins and
// refreshes are refused from now on.
func (s *Admin) DisableUser(ctx context.Context, username string) (models.User, error) {
	u, ended, err := s.store.DisableUser(ctx, username, s.now())
	if err != nil {
		return models.User{}, fromStore(err, "disable user", onNotFound(fmt.Errorf("user %q: %w", username, ErrNotFound)))
	}
	s.opts.Metrics.SessionsEnded(models.EndUserDisabled, int(ended))
	s.log.InfoContext(ctx, "user disabled; sessions ended", "user_id", u.ID, "count", ended, "reason", models.EndUserDisabled)
	return u, nil
}

func (s *Admin) user(ctx context.Context, username string) (models.User, error) {
	u, err := s.store.UserByUsername(ctx, username)
	if err != nil {
		return models.User{}, fromStore(err, "load user", onNotFound(fmt.Errorf("user %q: %w", username, ErrNotFound)))
	}
	return u, nil
}

// sessionExpiry is when a session ends unless used: the earlier of its
// absolute limit and its idle limit.
func (s *shared) sessionExpiry(sess models.Session) time.Time {
	idle := sess.LastUsedAt.Add(s.opts.RefreshIdleTTL)
	if idle.Before(sess.ExpiresAt) {
		return idle
	}
	return sess.ExpiresAt
}

// sessionLive reports whether a session can still be used at now.
func (s *shared) sessionLive(sess models.Session, user models.User, now time.Time) bool {
	return !sess.Ended() && !user.Disabled && now.Before(s.sessionExpiry(sess))
}
