package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/models/gormstore"
)

// TestCrashDuringRefreshes kills `baton serve` with SIGKILL in the middle
// of a refresh load from 16 clients, restarts it, and checks that every
// session still has exactly one current refresh token and that the newest
// token each client received still works.
func TestCrashDuringRefreshes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	bin := buildBaton(t)
	for name, dbURL := range backendsURL(t) {
		t.Run(name, func(t *testing.T) {
			e := environ{"BATON_DATABASE_URL": dbURL(t), "BATON_KEK": randomKEK(t), "BATON_LOG_LEVEL": "warn",
				"BATON_ISSUER": "http://localhost:8080", "BATON_REFRESH_REUSE_GRACE": "1m"}
			d := &deployment{env: e}
			d.cli(t, "hunter2hunter2\n", "user", "add", "--username", "alice", "--password-stdin")
			d.cli(t, "", "client", "add", "--id", "app", "--public", "--grants", "password,refresh_token")
			addr := freeAddr(t)
			first := startProcessAt(t, bin, e, addr)
			d.base = first.base

			const clients = 16
			held := make([]string, clients)
			sids := make([]string, clients)
			for i := range held {
				tok := d.login(t, "alice")
				held[i] = tok["refresh_token"].(string)
				sids[i] = sessionID(t, tok["access_token"].(string))
			}
			var stop atomic.Bool
			var mu sync.Mutex
			outcomes := map[string]int{}
			var restarted atomic.Bool
			okBefore, okAfter := make([]bool, clients), make([]bool, clients) // a 200 before the kill, after the restart
			var wg sync.WaitGroup
			for i := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						after := restarted.Load()
						status, next, err := refreshAt(d.base, held[i])
						key := http.StatusText(status)
						if err != nil {
							key = "connection error"
						}
						mu.Lock()
						outcomes[key]++
						if status == 200 {
							okBefore[i] = true
							okAfter[i] = okAfter[i] || after
						}
						mu.Unlock()
						switch {
						case status == 200:
							held[i] = next
						case err != nil || status == 503:
							time.Sleep(20 * time.Millisecond) // the client's backoff: the server is restarting, retry the same token
						default:
							t.Errorf("client %d: status %d", i, status)
							return
						}
					}
				}()
			}
			stopClients := sync.OnceFunc(func() { stop.Store(true); wg.Wait() })
			defer stopClients() // also when a wait below fails the test
			all := func(ok []bool) func() bool {
				return func() bool { mu.Lock(); defer mu.Unlock(); return !slices.Contains(ok, false) }
			}
			waitUntil(t, "every client refreshed", 30*time.Second, all(okBefore))
			if err := first.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown at all
				t.Fatal(err)
			}
			_ = first.cmd.Wait()
			startProcessAt(t, bin, e, addr)
			restarted.Store(true)
			waitUntil(t, "every client refreshed after the restart", 30*time.Second, all(okAfter))
			stopClients()
			t.Logf("outcomes: %v", outcomes)
			if outcomes["connection error"] == 0 {
				t.Fatal("no request met the crash")
			}

			store, err := gormstore.Open(t.Context(), e["BATON_DATABASE_URL"], quietLog())
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			for i := range clients {
				cur, err := store.CurrentRefreshTokens(t.Context(), sids[i])
				if err != nil || len(cur) != 1 {
					t.Fatalf("session %d: %d current tokens (%v), want 1", i, len(cur), err)
				}
				if status, _, err := refreshAt(d.base, held[i]); status != 200 {
					t.Fatalf("client %d: its newest token answers %d (%v): a token was lost", i, status, err)
				}
			}
		})
	}
}

func refreshAt(base, rt string) (int, string, error) {
	resp, err := http.PostForm(base+"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"app"}})
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var out struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return resp.StatusCode, "", errors.New("undecodable body")
	}
	return resp.StatusCode, out.RefreshToken, nil
}

// sessionID reads the sid claim of an access token (no verification needed here).
func sessionID(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	var claims struct {
		SID string `json:"sid"`
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(raw, &claims) != nil {
		t.Fatalf("access token payload: %v", err)
	}
	return claims.SID
}
