package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/handlers"
	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
)

// post sends a token request with client, for concurrent use (no t.Fatal):
// the status, the Retry-After header and the error code.
func post(client *http.Client, url, body, authz string) (int, string, string, error) {
	req, _ := http.NewRequest("POST", url+"/oauth2/token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	var e struct{ Error, ErrorDescription string }
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, resp.Header.Get("Retry-After"), e.Error, nil
}

// burst sends n requests at once and counts their statuses; every 429 and
// 503 must carry Retry-After and temporarily_unavailable.
func burst(t *testing.T, n int, send func(i int) (int, string, string, error)) map[int]int {
	t.Helper()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			status, retry, code, err := send(i)
			if err != nil {
				t.Error(err)
				return
			}
			if (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) &&
				(retry == "" || code != "temporarily_unavailable") {
				t.Errorf("%d with Retry-After %q and error %q", status, retry, code)
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return statuses
}

// TestConcurrentWrongPasswordsThrottled sends 40 wrong passwords for one
// user at once (real argon2id cost): only the free failures are tried
// (400), every other one waits (429 with Retry-After).
func TestConcurrentWrongPasswordsThrottled(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServerWith(t, b.Open(t), func(o *oauth.Options) { o.Argon2 = oauth.Argon2Params{} })
			body := form("grant_type", "password", "username", "alice", "password", "guess", "client_id", "spa")
			statuses := burst(t, 40, func(int) (int, string, string, error) { return post(http.DefaultClient, s.URL, body, "") })
			if statuses[http.StatusBadRequest] > 5+1 || statuses[http.StatusBadRequest]+statuses[http.StatusTooManyRequests] != 40 {
				t.Fatalf("statuses %v: want at most 6 answered 400, the rest 429", statuses)
			}
		})
	}
}

// TestHashQueueFullAnswers503: logins beyond the hasher's bounded queue are
// refused at once with 503, temporarily_unavailable and Retry-After.
func TestHashQueueFullAnswers503(t *testing.T) {
	// One slot that rests about 100 times as long as a hash; the requests
	// come through a trusted proxy from distinct addresses, so that the
	// per-address throttle lets them all reach the hasher.
	s := newServerConfig(t, gormtest.OpenSQLite(t), func(o *oauth.Options) {
		o.Argon2, o.HashCPUShare = oauth.Argon2Params{Memory: 1024, Time: 1, Threads: 1}, 0.005
	}, func(c *handlers.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	const n, hashed = 60, 1 + oauth.HashQueuePerSlot // one slot and its queue
	statuses := burst(t, n, func(i int) (int, string, string, error) {
		client := &http.Client{Transport: forwardedFor(fmt.Sprintf("198.51.100.%d", i))}
		return post(client, s.URL, form("grant_type", "password", "username", fmt.Sprintf("user%d", i),
			"password", "guess", "client_id", "spa"), "")
	})
	if statuses[http.StatusServiceUnavailable] == 0 || statuses[http.StatusBadRequest] > hashed ||
		statuses[http.StatusBadRequest]+statuses[http.StatusServiceUnavailable] != n {
		t.Fatalf("statuses %v: want at most %d hashed (one slot and its queue), the rest 503", statuses, hashed)
	}
}

// forwardedFor sends every request with X-Forwarded-For: addr.
type forwardedFor string

func (f forwardedFor) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("X-Forwarded-For", string(f))
	return http.DefaultTransport.RoundTrip(req)
}

// TestAbandonedSecretsDoNotStallLogin sends 60 wrong client secrets whose
// callers hang up after 0.3 s (real argon2id cost), then logs in: the
// login takes a small multiple of its unloaded latency, as nothing is
// hashed for the callers that are gone.
func TestAbandonedSecretsDoNotStallLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes at full cost")
	}
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServerWith(t, b.Open(t), func(o *oauth.Options) { o.Argon2 = oauth.Argon2Params{} })
			login := func() time.Duration {
				t.Helper()
				start := time.Now()
				status, _, code, err := post(http.DefaultClient, s.URL,
					form("grant_type", "password", "username", "alice", "password", password, "client_id", "spa"), "")
				if err != nil || status != http.StatusOK {
					t.Fatalf("login: %d %s %v", status, code, err)
				}
				return time.Since(start)
			}
			unloaded := []time.Duration{login(), login(), login()}
			slices.Sort(unloaded)
			impatient := &http.Client{Timeout: 300 * time.Millisecond}
			var mu sync.Mutex
			outcomes := map[string]int{}
			var wg sync.WaitGroup
			for i := range 60 {
				wg.Go(func() {
					status, _, _, err := post(impatient, s.URL, form("grant_type", "client_credentials"), basic("worker", fmt.Sprintf("wrong-%d", i)))
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						outcomes["gave up"]++
					} else {
						outcomes[fmt.Sprint(status)]++
					}
				})
			}
			wg.Wait()
			after := login()
			t.Logf("unloaded logins %v; the flood: %v; a login after it: %v", unloaded, outcomes, after)
			if after > 5*unloaded[1] {
				t.Fatalf("a login after the abandoned flood took %v, over 5 times its unloaded %v", after, unloaded[1])
			}
		})
	}
}
