package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/batonhq/baton/models"
)

// EndCodeReplayed ends the session an authorization code started when the
// code is presented again (RFC 6749 §4.1.2).
const EndCodeReplayed = "code_replayed"

// authorizationCodeGrant is RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6). The
// code is spent before anything else is checked, so that a wrong verifier,
// redirect URI or client burns it; the session then starts exactly as a
// password login's does.
func (s *Tokens) authorizationCodeGrant(ctx context.Context, client models.Client, req TokenRequest) (TokenResponse, error) {
	if req.Code == "" {
		return TokenResponse{}, ErrInvalidRequest.Describe("code is required")
	}
	now := s.now()
	sid := newID()
	code, err := s.store.RedeemAuthorizationCode(ctx, hashToken(req.Code), now, sid)
	used := ErrInvalidGrant.Describe("authorization code has already been used")
	switch err = fromStore(err, "redeem authorization code",
		onNotFound(ErrInvalidGrant.Describe("authorization code is invalid")), onConflict(used)); {
	case err == used: // this very value: redeemed before, so the code leaked
		s.codeReplayed(ctx, code)
		return TokenResponse{}, err
	case err != nil:
		return TokenResponse{}, err
	}
	if err := checkRedemption(code, client.ID, req, now.Before(code.ExpiresAt)); err != nil {
		return TokenResponse{}, err
	}
	user, err := s.store.UserByID(ctx, code.UserID)
	gone := ErrInvalidGrant.Describe("the user can no longer log in")
	switch {
	case err != nil:
		return TokenResponse{}, fromStore(err, "load user", onNotFound(gone))
	case user.Disabled:
		return TokenResponse{}, gone
	}
	// The admin scope only for holders of the admin role (SPEC §7).
	scope := s.forUser(strings.Fields(code.Scope), user)
	sess, refresh, err := s.startSession(ctx, user.ID, client.ID, scope, code.AuthTime, sid)
	if err != nil {
		return TokenResponse{}, err
	}
	// A replay that arrived between the redemption and the session's
	// creation could not end the session yet; look again now that it exists.
	if again, err := s.store.AuthorizationCode(ctx, code.Hash); err == nil && !again.ReplayedAt.IsZero() {
		s.codeReplayed(ctx, again)
		return TokenResponse{}, ErrInvalidGrant.Describe("authorization code has already been used")
	}
	return s.issueWithID(ctx, sess, scope, refresh, code.Nonce)
}

// checkRedemption applies the bindings of a redeemed code (SPEC §6).
func checkRedemption(code models.AuthorizationCode, clientID string, req TokenRequest, fresh bool) error {
	switch {
	case !fresh:
		return ErrInvalidGrant.Describe("authorization code has expired")
	case code.ClientID != clientID:
		return ErrInvalidGrant.Describe("authorization code was issued to another client")
	case req.RedirectURI != code.RedirectURI:
		return ErrInvalidGrant.Describe("redirect_uri differs from the authorization request's")
	case !verifierMatches(req.CodeVerifier, code.CodeChallenge):
		return ErrInvalidGrant.Describe("code_verifier does not match the code_challenge")
	}
	return nil
}

// verifierMatches checks a PKCE verifier (RFC 7636 §4.1: 43 to 128
// unreserved characters) against an S256 challenge, in constant time.
func verifierMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for i := 0; i < len(verifier); i++ {
		c := verifier[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// codeReplayed ends the session a replayed code started: the code leaked.
func (s *Tokens) codeReplayed(ctx context.Context, code models.AuthorizationCode) {
	s.log.WarnContext(ctx, "authorization code replayed: its session is revoked",
		"client_id", code.ClientID, "user_id", code.UserID, "session_id", code.SessionID)
	if code.SessionID == "" {
		return
	}
	ended, err := s.store.EndSession(ctx, code.SessionID, models.SessionEnd{At: s.now(), Reason: EndCodeReplayed})
	// Not found: not created yet; its grant finds the replay mark and ends it.
	switch err = fromStore(err, "end session", onNotFound(nil)); {
	case err != nil:
		s.log.ErrorContext(ctx, "end session of a replayed code", "session_id", code.SessionID, "err", err)
	case ended:
		s.opts.Metrics.SessionsEnded(EndCodeReplayed, 1)
	}
}
