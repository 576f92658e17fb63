package oauth

import (
	"bytes"
	"context"
	"strings"
	"time"

	"github.com/batonhq/baton/models"
)

// refreshPolicy holds the limits of SPEC §3 "Refresh rules".
type refreshPolicy struct {
	idle  time.Duration // BATON_REFRESH_IDLE_TTL
	grace time.Duration // BATON_REFRESH_REUSE_GRACE
}

// presentation is a presented refresh token placed in its session's chain:
// what the rules need to know of it, whatever its format.
type presentation struct {
	genuine  bool      // it belongs to the session (nonce or legacy hash match)
	current  bool      // it is the session's current token
	previous bool      // the current token replaced it
	spentAt  time.Time // when it was spent (previous)
	next     string    // the successor a rotation issues (current)
	check    []byte    // the session's new RefreshCheck when a rotation upgrades a legacy session
	again    string    // the successor a grace replay hands out again (previous)
}

// refreshOutcome is what the rules decided for one presentation.
type refreshOutcome struct {
	change    models.RefreshChange
	successor string   // the refresh token to hand out
	scope     []string // the scope of the access token
	reuse     bool     // the session was revoked for reuse
}

// refreshGrant is RFC 6749 §6 with rotation, a grace window for concurrent
// presentations and reuse detection (SPEC §3 rules 1–6). The rules are
// decideRefresh's; RotateRefresh is a fast path for its commonest answer
// (rotate), and TestRefreshPathsAgree checks the two agree in every state.
func (s *Tokens) refreshGrant(ctx context.Context, client models.Client, req TokenRequest) (TokenResponse, error) {
	if req.RefreshToken == "" {
		return TokenResponse{}, ErrInvalidRequest.Describe("refresh_token is required")
	}
	invalid := ErrInvalidGrant.Describe("refresh token is invalid")
	var key models.RefreshKey
	tok, ok := s.refreshKey.parse(req.RefreshToken) // authenticity first: a forgery changes nothing
	switch {
	case ok:
		key.SessionID = tok.sid
		if len(req.Scope) == 0 { // no narrowing asked: the common refresh may take one step
			if resp, done, err := s.rotateOneStep(ctx, client, tok); done || err != nil {
				return resp, err
			}
		}
	case isLegacyToken(req.RefreshToken):
		key.LegacyHash = hashToken(req.RefreshToken)
	default:
		return TokenResponse{}, invalid
	}
	policy := refreshPolicy{idle: s.opts.RefreshIdleTTL, grace: s.opts.RefreshReuseGrace}
	var out refreshOutcome
	var sess models.Session
	err := s.store.UseRefresh(ctx, key, func(st models.RefreshState) (models.RefreshChange, error) {
		sess = st.Session
		var err error
		out, err = decideRefresh(st, s.place(st, req.RefreshToken, tok), client.ID, req, s.now(), policy)
		return out.change, err
	})
	switch {
	case out.reuse:
		s.opts.Metrics.ReuseDetected()
		s.log.WarnContext(ctx, "refresh token reuse detected: session revoked",
			"session_id", sess.ID, "user_id", sess.UserID, "client_id", sess.ClientID)
	case out.change.Rotate && err == nil:
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
	if err != nil {
		return TokenResponse{}, fromStore(err, "use refresh token", onNotFound(invalid))
	}
	return s.issueRefreshed(ctx, sess, client.ID, out.scope, out.successor)
}

// rotateOneStep asks the store for rule 1 in one step: it applies when the
// token is current and its session may go on (decideRefresh would rotate).
// done is false when it did not apply; the full rules then decide.
func (s *Tokens) rotateOneStep(ctx context.Context, client models.Client, tok refreshToken) (TokenResponse, bool, error) {
	now := s.now()
	sess, rotated, err := s.store.RotateRefresh(ctx, models.Rotation{
		SessionID: tok.sid, Gen: tok.gen, Check: refreshCheck(tok.nonce), ClientID: client.ID,
		At: now, UsedAfter: now.Add(-s.opts.RefreshIdleTTL),
	})
	switch {
	case err != nil:
		return TokenResponse{}, false, fromStore(err, "rotate refresh token")
	case !rotated:
		return TokenResponse{}, false, nil
	}
	s.opts.Metrics.RefreshRotated()
	resp, err := s.issueRefreshed(ctx, sess, client.ID, strings.Fields(sess.Scope), s.refreshKey.mint(tok.sid, tok.gen+1, tok.nonce))
	return resp, true, err
}

// place finds where the presented token stands in its session's chain. raw
// is the token as presented; tok its parsed form (zero for a legacy token,
// which st.Legacy then describes). It is pure, like decideRefresh.
func (s *Tokens) place(st models.RefreshState, raw string, tok refreshToken) presentation {
	k, sess := s.refreshKey, st.Session
	if st.Legacy == nil {
		if sess.RefreshCheck == nil || !bytes.Equal(refreshCheck(tok.nonce), sess.RefreshCheck) || tok.gen > sess.RefreshGen {
			return presentation{} // not a token this session issued
		}
		return presentation{genuine: true,
			current: tok.gen == sess.RefreshGen, next: k.mint(sess.ID, tok.gen+1, tok.nonce),
			previous: tok.gen == sess.RefreshGen-1, spentAt: sess.RotatedAt, again: k.mint(sess.ID, sess.RefreshGen, tok.nonce)}
	}
	// A legacy token: its current one upgrades the session to the MAC'd
	// format, with a nonce derived from it so that a concurrent
	// presentation computes the same successor.
	lt, nonce := st.Legacy, k.legacyNonce(raw)
	p := presentation{genuine: true, spentAt: lt.SpentAt}
	switch {
	case lt.Current():
		p.current, p.check, p.next = true, refreshCheck(nonce), k.mint(sess.ID, sess.RefreshGen+1, nonce)
	case lt.SuccessorHash == nil && sess.RefreshGen == 1 && bytes.Equal(refreshCheck(nonce), sess.RefreshCheck):
		p.previous, p.again = true, k.mint(sess.ID, 1, nonce) // it was upgraded, and generation 1 is unused
	case st.LegacySuccessor != nil && st.LegacySuccessor.Current() && len(lt.SealedSuccessor) > 0:
		if again, err := openSuccessor(raw, lt.SealedSuccessor); err == nil { // rotated before the upgrade
			p.previous, p.again = true, again
		}
	}
	return p
}

// decideRefresh applies the refresh rules to what the store read under the
// session's lock and where the presented token stands. It is a pure
// function of its inputs, so that it may run again when the store retries.
func decideRefresh(st models.RefreshState, p presentation, clientID string, req TokenRequest, now time.Time, pol refreshPolicy) (refreshOutcome, error) {
	sess := st.Session
	end := func(reason, desc string) (refreshOutcome, error) {
		o := refreshOutcome{change: models.RefreshChange{End: &models.SessionEnd{At: now, Reason: reason}}}
		o.reuse = reason == models.EndReuseDetected
		return o, ErrInvalidGrant.Describe("%s", desc)
	}
	switch {
	case !p.genuine: // never a revocation: only a genuine token proves a leak
		return refreshOutcome{}, ErrInvalidGrant.Describe("refresh token is invalid")
	case sess.ClientID != clientID && (p.current || sess.Ended()): // rule 4
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
	case !now.Before(sess.LastUsedAt.Add(pol.idle)):
		return end(models.EndIdle, "refresh token has expired")
	}
	scope, err := narrowScope(req.Scope, req.ScopeGiven, strings.Fields(sess.Scope))
	if err != nil {
		return refreshOutcome{}, ErrInvalidScope.Describe("requested scope exceeds the scope granted to the session")
	}
	if p.current { // rule 1: rotate
		return refreshOutcome{change: models.RefreshChange{Rotate: true, Check: p.check, At: now},
			successor: p.next, scope: scope}, nil
	}
	// Rule 2: a concurrent presentation gets the same successor, as long
	// as that successor is current (it is, when the presented token is
	// the one it replaced).
	if p.previous && now.Sub(p.spentAt) <= pol.grace {
		return refreshOutcome{successor: p.again, scope: scope}, nil
	}
	return end(models.EndReuseDetected, "refresh token has already been used") // rule 3
}
