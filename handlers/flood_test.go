package handlers_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
)

// TestLoginFloodDoesNotStarveRefresh floods the password grant with 500
// wrong passwords (real argon2id cost) while 20 clients refresh: every
// refresh succeeds, the throttle answers 429 with Retry-After, and the
// refresh latency percentiles are reported.
func TestLoginFloodDoesNotStarveRefresh(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes at full cost")
	}
	s := newServerWith(t, gormtest.OpenSQLite(t), func(o *oauth.Options) { o.Argon2 = oauth.Argon2Params{} })
	conf := s.oauth2Config("spa", "", oauth2.AuthStyleInParams)
	tokens := make([]string, 20)
	for i := range tokens {
		tok, err := conf.PasswordCredentialsToken(t.Context(), "alice", password)
		if err != nil {
			t.Fatal(err)
		}
		tokens[i] = tok.RefreshToken
	}
	var done atomic.Bool
	var statusMu sync.Mutex
	statuses := map[int]int{}
	var attack sync.WaitGroup
	var sent atomic.Int64
	for range 16 {
		attack.Add(1)
		go func() {
			defer attack.Done()
			for sent.Add(1) <= 500 {
				req, _ := http.NewRequest("POST", s.URL+"/oauth2/token", strings.NewReader(
					url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"guess"}, "client_id": {"spa"}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
					t.Error("429 without Retry-After")
				}
				statusMu.Lock()
				statuses[resp.StatusCode]++
				statusMu.Unlock()
			}
		}()
	}
	var latencies []time.Duration
	var latMu sync.Mutex
	var refreshers sync.WaitGroup
	for i := range tokens {
		refreshers.Add(1)
		go func() {
			defer refreshers.Done()
			rt := tokens[i]
			for !done.Load() {
				start := time.Now()
				tok, err := conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: rt}).Token()
				if err != nil {
					t.Errorf("refresh during the flood: %v", err)
					return
				}
				latMu.Lock()
				latencies = append(latencies, time.Since(start))
				latMu.Unlock()
				rt = tok.RefreshToken
			}
		}()
	}
	attack.Wait()
	done.Store(true)
	refreshers.Wait()
	if statuses[http.StatusTooManyRequests] == 0 {
		t.Fatalf("the throttle never engaged: %v", statuses)
	}
	if statuses[http.StatusInternalServerError] > 0 {
		t.Fatalf("server errors during the flood: %v", statuses)
	}
	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	t.Logf("login flood answers %v; %d refreshes meanwhile: p50 %s, p99 %s, max %s",
		statuses, len(latencies), pct(0.5), pct(0.99), latencies[len(latencies)-1])
}
