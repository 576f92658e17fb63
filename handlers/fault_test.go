package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
)

// refreshOnce presents a refresh token over HTTP and returns the status and
// the successor (on 200).
func (s *server) refreshOnce(rt string) (int, string, error) {
	req, _ := http.NewRequest("POST", s.URL+"/oauth2/token", strings.NewReader(
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"spa"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var out struct {
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
		return resp.StatusCode, "", errMissingRetryAfter
	}
	return resp.StatusCode, out.RefreshToken, nil
}

type testError string

func (e testError) Error() string { return string(e) }

const errMissingRetryAfter = testError("503 without Retry-After")

// TestDatabaseOutage refreshes from 32 goroutines while the Postgres
// database is cut off until every client has met the outage: while it is
// down every failure is a 503 with Retry-After, service resumes by itself
// within seconds, and afterwards every session has exactly one current
// refresh token and the newest token each client holds still works. Each
// phase lasts until every client has seen what the phase is for, not a
// fixed time.
func TestDatabaseOutage(t *testing.T) {
	base := gormtest.PostgresURL(t)
	dbURL := gormtest.FreshDatabase(t, base)
	s := newServerWith(t, gormtest.OpenPostgresAt(t, dbURL), func(o *oauth.Options) { o.RefreshReuseGrace = time.Minute })
	conf := s.oauth2Config("spa", "", oauth2.AuthStyleInParams)
	const clients = 32
	held := make([]string, clients)
	sids := make([]string, clients)
	for i := range held {
		tok, err := conf.PasswordCredentialsToken(t.Context(), "alice", password)
		if err != nil {
			t.Fatal(err)
		}
		held[i] = tok.RefreshToken
		_, in := s.post(t, "/oauth2/introspect", basic("worker", secret), url.Values{"token": {tok.AccessToken}})
		sids[i] = in["sid"].(string)
	}

	var phase atomic.Int32 // 0 before, 1 down, 2 after
	var restoredAt atomic.Int64
	var mu sync.Mutex
	statuses := map[int32]map[int]int{0: {}, 1: {}, 2: {}}
	firstOK := make([]time.Time, clients) // first success after the restore
	// seen[0][i]: client i refreshed before the outage; seen[1][i]: it met the outage.
	seen := map[int32][]bool{0: make([]bool, clients), 1: make([]bool, clients)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopClients := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopClients() // also when a wait below fails the test
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				p := phase.Load()
				status, next, err := s.refreshOnce(held[i])
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				statuses[p][status]++
				if status == 200 && p == 2 && firstOK[i].IsZero() {
					firstOK[i] = time.Now()
				}
				if (p == 0 && status == 200) || (p == 1 && status == 503) {
					seen[p][i] = true
				}
				mu.Unlock()
				switch status {
				case 200:
					held[i] = next
				case 503:
					time.Sleep(50 * time.Millisecond) // the client's backoff before it retries
				}
			}
		}()
	}
	all := func(phase int32) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			for i := range clients {
				if (phase < 2 && !seen[phase][i]) || (phase == 2 && firstOK[i].IsZero()) {
					return false
				}
			}
			return true
		}
	}
	waitUntil(t, "every client refreshed", 30*time.Second, all(0))
	restore := gormtest.Cut(t, base, dbURL)
	phase.Store(1)
	waitUntil(t, "every client met the outage", 30*time.Second, all(1))
	if resp, _ := do(t, mustRequest(t, "GET", s.URL+"/readyz")); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz answers %d while the database is down", resp.StatusCode)
	}
	restore()
	restoredAt.Store(time.Now().UnixNano())
	phase.Store(2)
	// Service resumes by itself within seconds: no client gets more.
	if !eventually(10*time.Second, all(2)) {
		t.Error("not every client refreshed again within 10 s of the restore")
	}
	stopClients()

	t.Logf("statuses before %v, down %v, after %v", statuses[0], statuses[1], statuses[2])
	for p, m := range statuses {
		for status, n := range m {
			if status != 200 && status != 503 {
				t.Errorf("phase %d: %d answers with status %d", p, n, status)
			}
		}
	}
	if statuses[1][503] == 0 {
		t.Fatal("no 503 while the database was down: the outage did not happen")
	}
	restored := time.Unix(0, restoredAt.Load())
	var slowest time.Duration
	for i, at := range firstOK {
		if at.IsZero() {
			t.Fatalf("client %d never recovered", i)
		}
		slowest = max(slowest, at.Sub(restored))
	}
	t.Logf("every client refreshed again within %s of the restore", slowest.Round(time.Millisecond))
	for i := range clients {
		cur, err := s.store.CurrentRefreshTokens(t.Context(), sids[i])
		if err != nil || len(cur) != 1 {
			t.Fatalf("session %d: %d current tokens (%v), want 1", i, len(cur), err)
		}
		if status, _, err := s.refreshOnce(held[i]); status != 200 || err != nil {
			t.Fatalf("client %d: its newest token answers %d (%v): a token was lost", i, status, err)
		}
	}
}

func mustRequest(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// eventually polls cond (the state of other goroutines, or of an outside
// process) until it holds or timeout passes, and reports whether it held.
func eventually(timeout time.Duration, cond func() bool) bool {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			return cond()
		}
	}
	return true
}

// waitUntil is eventually, failing the test when cond never holds.
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	if !eventually(timeout, cond) {
		t.Fatalf("timed out after %s waiting until %s", timeout, what)
	}
}
