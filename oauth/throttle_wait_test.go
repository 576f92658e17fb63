package oauth

import (
	"testing"
	"time"

	"github.com/batonhq/baton/models"
)

// TestMustWait: the wait at each side of the free failures and the
// backoff, and no wait within the free failures even when a concurrent
// attempt recorded itself at a later instant than this attempt's now (its
// transaction committed first): that once answered 429 to the first
// requests of two instances starting together.
func TestMustWait(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name     string
		failures int
		key      string
		lastAt   time.Time
		want     time.Duration
	}{
		{"free, recorded later than now", 1, "client-addr:127.0.0.1", now.Add(3 * time.Millisecond), 0},
		{"last free, recorded later than now", freeUserFailures - 1, "user:alice", now.Add(time.Millisecond), 0},
		{"free failures used, just now", freeUserFailures, "user:alice", now, firstBackoff},
		{"free failures used, 1ns before the wait ends", freeUserFailures, "user:alice", now.Add(-firstBackoff + 1), 1},
		{"free failures used, the wait over", freeUserFailures, "user:alice", now.Add(-firstBackoff), 0},
		{"one past the free address failures", freeAddrFailures + 1, "addr:192.0.2.1", now, 2 * firstBackoff},
		{"forgotten after the window", 50, "user:alice", now.Add(-failureWindow), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := mustWait([]models.LoginFailure{{Key: tt.key, Failures: tt.failures, LastAt: tt.lastAt}}, now)
			if got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
