package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/handlers"
	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
)

// failedLoginAddrs fails one password login with the given headers and returns
// the throttle keys of the addresses the store counted a failure for.
func failedLoginAddrs(t *testing.T, s *server, header http.Header, candidates ...string) []string {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/oauth2/token",
		strings.NewReader(form("grant_type", "password", "username", "alice", "password", "wrong-password", "client_id", "spa")))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	if resp, body := do(t, req); resp.StatusCode != 400 {
		t.Fatalf("wrong password: %d %s", resp.StatusCode, body)
	}
	var keys []string
	for _, c := range candidates {
		keys = append(keys, "addr:"+c)
	}
	// Read the records through a reservation that always waits: it
	// changes nothing.
	var got []models.LoginFailure
	if _, err := s.store.ReserveLoginAttempt(t.Context(), keys, time.Now(), time.Hour, func(r []models.LoginFailure) time.Duration {
		got = r
		return time.Nanosecond
	}); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range got {
		out = append(out, strings.TrimPrefix(f.Key, "addr:"))
	}
	return out
}

// TestClientAddressForThrottling: the address a failed login is counted
// against is the connection's unless the peer is a trusted proxy, and then
// only X-Forwarded-For is believed, never X-Real-IP.
func TestClientAddressForThrottling(t *testing.T) {
	const forwarded, real = "203.0.113.7", "198.51.100.8"
	both := http.Header{"X-Forwarded-For": {forwarded}, "X-Real-Ip": {real}}
	realOnly := http.Header{"X-Real-Ip": {real}}
	t.Run("no trusted proxies", func(t *testing.T) {
		s := sqliteServer(t)
		for _, h := range []http.Header{both, realOnly} {
			if got := failedLoginAddrs(t, s, h, "127.0.0.1", forwarded, real); len(got) != 1 || got[0] != "127.0.0.1" {
				t.Fatalf("headers %v: failures counted for %v, want the connection's 127.0.0.1", h, got)
			}
		}
	})
	t.Run("trusted proxy", func(t *testing.T) {
		s := newServerConfig(t, gormtest.OpenSQLite(t), func(*oauth.Options) {}, func(c *handlers.Config) {
			c.TrustedProxies = []string{"127.0.0.1"}
		})
		if got := failedLoginAddrs(t, s, realOnly, "127.0.0.1", forwarded, real); len(got) != 1 || got[0] != "127.0.0.1" {
			t.Fatalf("X-Real-IP alone: failures counted for %v, want the proxy's 127.0.0.1", got)
		}
		if got := failedLoginAddrs(t, s, both, forwarded, real); len(got) != 1 || got[0] != forwarded {
			t.Fatalf("X-Forwarded-For: failures counted for %v, want %s", got, forwarded)
		}
	})
}
