package oauth

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// fullPathOnly is a store whose one-step rotation never applies: the
// service then takes the full path for every refresh.
type fullPathOnly struct{ models.Store }

func (fullPathOnly) RotateRefresh(context.Context, models.Rotation) (models.Session, bool, error) {
	return models.Session{}, false, nil
}

type fakeKeys struct{}

func (fakeKeys) Sign(context.Context, string, []byte) (string, error) { return "signed", nil }
func (fakeKeys) Verify(string, string) ([]byte, error)                { return nil, errors.New("no") }

type agreeFixture struct {
	svc   *Server
	store interface {
		models.Store
		Exec(ctx context.Context, sql string, args ...any) error
	}
	mu  sync.Mutex
	now time.Time
}

func (f *agreeFixture) clock() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *agreeFixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

var agreeT0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func newAgreeFixture(t *testing.T, b gormtest.Backend, fullOnly bool) *agreeFixture {
	st := b.Open(t)
	f := &agreeFixture{store: st, now: agreeT0}
	var store models.Store = st
	if fullOnly {
		store = fullPathOnly{st}
	}
	svc, err := NewServer(store, fakeKeys{}, Options{Issuer: "https://i.test", AccessTokenTTL: 15 * time.Minute,
		RefreshIdleTTL: 24 * time.Hour, SessionMaxTTL: 72 * time.Hour, RefreshReuseGrace: 10 * time.Second,
		Argon2: Argon2Params{Memory: 64, Time: 1, Threads: 1}, RefreshKey: []byte("k-refresh-k-refresh-k-refresh-32")},
		f.clock, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	if _, err := svc.Admin.AddUser(t.Context(), "alice", "pw-pw-pw-pw"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []ClientSpec{
		{ID: "spa", Public: true, Grants: []string{"password", "refresh_token"}, Scopes: []string{"read", "write"}},
		{ID: "other", Public: true, Grants: []string{"password", "refresh_token"}, Scopes: []string{"read", "write"}},
	} {
		if _, err := svc.Admin.AddClient(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *agreeFixture) login(t *testing.T) string {
	resp, err := f.svc.Tokens.Token(t.Context(), TokenRequest{GrantType: GrantPassword, Client: ClientCredentials{ID: "spa", Method: AuthNone},
		Username: "alice", Password: "pw-pw-pw-pw", Scope: []string{"read", "write"}, ScopeGiven: true})
	if err != nil {
		t.Fatal(err)
	}
	return resp.RefreshToken
}

func (f *agreeFixture) refresh(t *testing.T, tok string) string {
	resp, err := f.svc.Tokens.Token(t.Context(), refreshReq("spa", tok))
	if err != nil {
		t.Fatal(err)
	}
	return resp.RefreshToken
}

func refreshReq(client, tok string) TokenRequest {
	return TokenRequest{GrantType: GrantRefreshToken, Client: ClientCredentials{ID: client, Method: AuthNone}, RefreshToken: tok}
}

// TestRefreshPathsAgree runs every decision state through every path —
// the service with the store's one-step rotation (on Postgres: one
// UPDATE), and the service on the full path only — and checks that each
// answers and writes what decideRefresh, applied to a snapshot of the
// state, decides.
func TestRefreshPathsAgree(t *testing.T) {
	type state struct {
		name   string
		client string
		scope  []string
		// build brings a fresh fixture into the state and returns the token to present.
		build func(t *testing.T, f *agreeFixture) string
	}
	sid := func(f *agreeFixture, tok string) string { p, _ := f.svc.Tokens.refreshKey.parse(tok); return p.sid }
	states := []state{
		{name: "current", build: func(t *testing.T, f *agreeFixture) string { return f.login(t) }},
		{name: "current, narrowed scope", scope: []string{"read"}, build: func(t *testing.T, f *agreeFixture) string { return f.login(t) }},
		{name: "current, scope exceeded", scope: []string{"admin"}, build: func(t *testing.T, f *agreeFixture) string { return f.login(t) }},
		{name: "grace", build: func(t *testing.T, f *agreeFixture) string {
			first := f.login(t)
			f.refresh(t, first)
			f.advance(10 * time.Second)
			return first
		}},
		{name: "reuse after grace", build: func(t *testing.T, f *agreeFixture) string {
			first := f.login(t)
			f.refresh(t, first)
			f.advance(10*time.Second + time.Microsecond)
			return first
		}},
		{name: "reuse of an old generation within grace", build: func(t *testing.T, f *agreeFixture) string {
			first := f.login(t)
			f.refresh(t, f.refresh(t, f.refresh(t, first)))
			return first
		}},
		{name: "idle", build: func(t *testing.T, f *agreeFixture) string {
			tok := f.login(t)
			f.advance(24 * time.Hour)
			return tok
		}},
		{name: "absolute", build: func(t *testing.T, f *agreeFixture) string {
			tok := f.login(t)
			for range 3 {
				f.advance(23 * time.Hour)
				tok = f.refresh(t, tok)
			}
			f.advance(3 * time.Hour)
			return tok
		}},
		{name: "revoked", build: func(t *testing.T, f *agreeFixture) string {
			tok := f.login(t)
			if _, err := f.store.EndSession(t.Context(), sid(f, tok), models.SessionEnd{At: f.clock(), Reason: models.EndAdmin}); err != nil {
				t.Fatal(err)
			}
			return tok
		}},
		{name: "spent token of a revoked session", build: func(t *testing.T, f *agreeFixture) string {
			first := f.login(t)
			f.refresh(t, first)
			if _, err := f.store.EndSession(t.Context(), sid(f, first), models.SessionEnd{At: f.clock(), Reason: models.EndAdmin}); err != nil {
				t.Fatal(err)
			}
			return first
		}},
		{name: "disabled user, live session", build: func(t *testing.T, f *agreeFixture) string {
			tok := f.login(t)
			if err := f.store.Exec(t.Context(), `UPDATE users SET disabled = TRUE`); err != nil {
				t.Fatal(err)
			}
			return tok
		}},
		{name: "other client, current token", client: "other", build: func(t *testing.T, f *agreeFixture) string { return f.login(t) }},
		{name: "other client, spent token in grace", client: "other", build: func(t *testing.T, f *agreeFixture) string {
			first := f.login(t)
			f.refresh(t, first)
			return first
		}},
		{name: "forged tag", build: func(t *testing.T, f *agreeFixture) string { return flipLast(f.login(t)) }},
		{name: "forged generation", build: func(t *testing.T, f *agreeFixture) string {
			tok := f.login(t)
			p, _ := f.svc.Tokens.refreshKey.parse(tok)
			return refreshKey("another key, not the service's!").mint(p.sid, p.gen+5, p.nonce)
		}},
		{name: "unknown session", build: func(t *testing.T, f *agreeFixture) string {
			f.login(t)
			return f.svc.Tokens.refreshKey.mint("no-such-session", 1, newNonce())
		}},
		{name: "other nonce", build: func(t *testing.T, f *agreeFixture) string {
			tok := f.login(t)
			return f.svc.Tokens.refreshKey.mint(sid(f, tok), 1, newNonce())
		}},
	}
	for _, b := range gormtest.Backends() {
		for _, path := range []string{"one-step+full", "full only"} {
			for _, s := range states {
				t.Run(b.Name+"/"+path+"/"+s.name, func(t *testing.T) {
					f := newAgreeFixture(t, b, path == "full only")
					tok := s.build(t, f)
					client := s.client
					if client == "" {
						client = "spa"
					}
					req := refreshReq(client, tok)
					req.Scope, req.ScopeGiven = s.scope, s.scope != nil
					now := f.clock()
					// The decision on a snapshot of the state.
					parsed, genuine := f.svc.Tokens.refreshKey.parse(tok)
					var want refreshOutcome
					var wantErr error
					var before models.Session
					if genuine {
						_ = f.store.UseRefresh(t.Context(), models.RefreshKey{SessionID: parsed.sid}, func(st models.RefreshState) (models.RefreshChange, error) {
							before = st.Session
							want, wantErr = decideRefresh(st, f.svc.Tokens.place(st, tok, parsed), client, req, now, refreshPolicy{idle: 24 * time.Hour, grace: 10 * time.Second})
							return models.RefreshChange{}, nil
						})
					}
					if before.ID == "" {
						wantErr = ErrInvalidGrant.Describe("refresh token is invalid")
					}
					resp, err := f.svc.Tokens.Token(t.Context(), req)
					switch {
					case (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error():
						t.Fatalf("path answered %v, the decision %v", err, wantErr)
					case err == nil && resp.RefreshToken != want.successor:
						t.Fatal("path handed out another successor than the decision")
					}
					if before.ID == "" {
						return
					}
					after, err := f.store.Session(t.Context(), before.ID)
					if err != nil {
						t.Fatal(err)
					}
					wantGen, wantReason, wantUsed := before.RefreshGen, before.EndReason, before.LastUsedAt
					if want.change.Rotate {
						wantGen, wantUsed = wantGen+1, now
					}
					if want.change.End != nil {
						wantReason = want.change.End.Reason
					}
					if after.RefreshGen != wantGen || after.EndReason != wantReason || !after.LastUsedAt.Equal(wantUsed) {
						t.Fatalf("path left gen %d, end %q, last used %v; the decision: gen %d, end %q, last used %v",
							after.RefreshGen, after.EndReason, after.LastUsedAt, wantGen, wantReason, wantUsed)
					}
				})
			}
		}
	}
}

// flipLast changes the last character of a token (its MAC).
func flipLast(tok string) string {
	c := byte('A')
	if tok[len(tok)-1] == 'A' {
		c = 'B'
	}
	return tok[:len(tok)-1] + string(c)
}
