package oauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/models"
)

// refreshPolicy holds the limits of SPEC §3 "Refresh rules".
type refreshPolicy struct {
	idle  time.Duration // BATON_REFRESH_IDLE_TTL
	grace time.Duration // BATON_REFRESH_REUSE_GRACE
}

// refreshOutcome is what the rules decided for one presentation.
type refreshOutcome struct {
	change    models.RefreshChange
	successor string   // the refresh token to hand out
	scope     []string // the scope of the access token
	reuse     bool     // the session was revoked for reuse
}

// refreshGrant is RFC 6749 §6 with rotation, a grace window for concurrent
// presentations and reuse detection (SPEC §3 rules 1–6).
func (s *Service) refreshGrant(ctx context.Context, client models.Client, req TokenRequest) (TokenResponse, error) {
	if req.RefreshToken == "" {
		return TokenResponse{}, ErrInvalidRequest.Describe("refresh_token is required")
	}
	presented := hashToken(req.RefreshToken)
	if len(req.Scope) == 0 { // no narrowing asked: the common refresh may take one step
		resp, err := s.rotateOneStep(ctx, client, req, presented)
		if !errors.Is(err, models.ErrNotRotated) {
			return resp, err
		}
	}
	policy := refreshPolicy{idle: s.opts.RefreshIdleTTL, grace: s.opts.RefreshReuseGrace}
	var out refreshOutcome
	var sess models.Session
	err := s.store.UseRefreshToken(ctx, presented, func(st models.RefreshState) (models.RefreshChange, error) {
		sess = st.Session
		var err error
		out, err = decideRefresh(st, client.ID, req, s.now(), policy)
		return out.change, err
	})
	switch {
	case out.reuse:
		s.opts.Metrics.ReuseDetected()
		s.log.WarnContext(ctx, "refresh token reuse detected: session revoked",
			"session_id", sess.ID, "user_id", sess.UserID, "client_id", sess.ClientID)
	case out.change.Rotate != nil && err == nil:
		s.opts.Metrics.RefreshRotated()
	case err == nil:
		s.opts.Metrics.GraceReplay()
	}
	if end := out.change.End; end != nil {
		s.opts.Metrics.SessionsEnded(end.Reason, 1)
		if !out.reuse {
			s.log.InfoContext(ctx, "session ended", "session_id", sess.ID, "user_id", sess.UserID, "reason", end.Reason)
		}
	}
	switch {
	case errors.Is(err, models.ErrNotFound):
		return TokenResponse{}, ErrInvalidGrant.Describe("refresh token is invalid")
	case err != nil:
		var oerr *Error
		if errors.As(err, &oerr) {
			return TokenResponse{}, err
		}
		return TokenResponse{}, fmt.Errorf("use refresh token: %w", err)
	}
	return s.issueRefreshed(ctx, sess, client.ID, out.scope, out.successor)
}

// rotateOneStep is rule 1 when nothing else applies: the token is current
// and its session may go on. The store checks that and rotates in one
// round trip; anything else (an unknown or spent token, an ended, expired
// or idle session, another client, a disabled user) comes back as
// models.ErrNotRotated, and the full rules below decide.
func (s *Service) rotateOneStep(ctx context.Context, client models.Client, req TokenRequest, presented []byte) (TokenResponse, error) {
	now := s.now()
	out, err := rotate(req.RefreshToken, now, nil)
	if err != nil {
		return TokenResponse{}, err
	}
	sess, err := s.store.RotateRefreshToken(ctx, models.Rotation{
		Hash: presented, ClientID: client.ID,
		Next: *out.change.Rotate, SealedSuccessor: out.change.SealedSuccessor,
		UsedAfter: now.Add(-s.opts.RefreshIdleTTL),
	})
	switch {
	case errors.Is(err, models.ErrNotRotated):
		return TokenResponse{}, err
	case err != nil:
		return TokenResponse{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	s.opts.Metrics.RefreshRotated()
	return s.issueRefreshed(ctx, sess, client.ID, strings.Fields(sess.Scope), out.successor)
}

// decideRefresh applies the refresh rules to what the store read under the
// session's lock. It is a pure function of its inputs (plus randomness for
// the new token), so that it may run again when the store retries.
func decideRefresh(st models.RefreshState, clientID string, req TokenRequest, now time.Time, p refreshPolicy) (refreshOutcome, error) {
	sess := st.Session
	end := func(reason, desc string) (refreshOutcome, error) {
		o := refreshOutcome{change: models.RefreshChange{End: &models.SessionEnd{At: now, Reason: reason}}}
		o.reuse = reason == models.EndReuseDetected
		return o, ErrInvalidGrant.Describe("%s", desc)
	}
	switch {
	case sess.ClientID != clientID && (st.Token.Current() || sess.Ended()): // rule 4
		return refreshOutcome{}, ErrInvalidGrant.Describe("refresh token was issued to another client")
	case sess.ClientID != clientID:
		// Rule 3: rule 2 is for the same client only, so a spent token in
		// another client's hands leaked, however recently it was rotated.
		return end(models.EndReuseDetected, "refresh token was issued to another client")
	case sess.Ended(): // rule 5
		return refreshOutcome{}, ErrInvalidGrant.Describe("session has ended")
	case st.User.Disabled:
		return end(models.EndUserDisabled, "user is disabled")
	case !now.Before(sess.ExpiresAt):
		return end(models.EndAbsolute, "session has expired")
	case !now.Before(sess.LastUsedAt.Add(p.idle)):
		return end(models.EndIdle, "refresh token has expired")
	}
	scope, err := narrowScope(req.Scope, req.ScopeGiven, strings.Fields(sess.Scope))
	if err != nil {
		return refreshOutcome{}, ErrInvalidScope.Describe("requested scope exceeds the scope granted to the session")
	}
	if st.Token.Current() { // rule 1: rotate
		return rotate(req.RefreshToken, now, scope)
	}
	// Rule 2: a concurrent presentation gets the same successor.
	if now.Sub(st.Token.SpentAt) <= p.grace && st.Successor != nil && st.Successor.Current() && len(st.Token.SealedSuccessor) > 0 {
		successor, err := openSuccessor(req.RefreshToken, st.Token.SealedSuccessor)
		if err != nil {
			return refreshOutcome{}, fmt.Errorf("grace replay: %w", err)
		}
		return refreshOutcome{successor: successor, scope: scope}, nil
	}
	return end(models.EndReuseDetected, "refresh token has already been used") // rule 3
}

// rotate spends the presented token and issues its successor; the store
// puts the successor in the presented token's session.
func rotate(presented string, now time.Time, scope []string) (refreshOutcome, error) {
	successor := newOpaque(tokenBytes)
	sealed, err := sealSuccessor(presented, successor)
	if err != nil {
		return refreshOutcome{}, fmt.Errorf("seal successor: %w", err)
	}
	next := models.RefreshToken{Hash: hashToken(successor), CreatedAt: now}
	return refreshOutcome{
		change:    models.RefreshChange{Rotate: &next, SealedSuccessor: sealed, LastUsedAt: now},
		successor: successor,
		scope:     scope,
	}, nil
}
