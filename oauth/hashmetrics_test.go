package oauth_test

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/oauth"
)

// waitRecorder records the hashes' waits for a slot; the other events are
// not looked at.
type waitRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (*waitRecorder) TokenIssued(string)          {}
func (*waitRecorder) TokenRefused(string, string) {}
func (*waitRecorder) RefreshRotated()             {}
func (*waitRecorder) GraceReplay()                {}
func (*waitRecorder) ReuseDetected()              {}
func (*waitRecorder) SessionsEnded(string, int)   {}
func (*waitRecorder) LoginThrottled()             {}
func (r *waitRecorder) HashWaited(d time.Duration) {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
}

// TestHashWaitIsObserved: every hash reports how long it waited for its
// slot (baton_hash_wait_seconds), and the hasher reports the hashes
// waiting now (baton_hash_queue_depth).
func TestHashWaitIsObserved(t *testing.T) {
	rec := &waitRecorder{}
	opts := oauth.Options{Issuer: "https://baton.test", AccessTokenTTL: time.Minute, RefreshIdleTTL: time.Hour,
		SessionMaxTTL: 24 * time.Hour, Argon2: oauth.Argon2Params{Memory: 64, Time: 1, Threads: 1}, Metrics: rec}
	svc, err := oauth.NewShared(gormtest.OpenSQLite(t), opts, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	rec.waits = nil // NewShared hashed its dummy password
	rec.mu.Unlock()
	unblock := svc.BlockHashing()
	done := make(chan error, 1)
	go func() { _, err := svc.Hasher().Hash(t.Context(), "a password"); done <- err }()
	waitFor(t, "the hash waits for a slot", func() bool { return svc.Hasher().Waiting() == 1 })
	unblock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := svc.Hasher().Waiting(); n != 0 {
		t.Fatalf("%d hashes still waiting", n)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.waits) != 1 || rec.waits[0] <= 0 {
		t.Fatalf("waits observed %v, want one, longer than zero", rec.waits)
	}
}
