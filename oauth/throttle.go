package oauth

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/batonhq/baton/models"
)

// Throttling of the password grant and of client secrets (SPEC §3): after a
// few free failures, a username or a client address must wait before its
// next attempt, the wait doubling with every failure up to a ceiling. The
// counts live in the database, so every instance enforces the same limits.
//
// An attempt is counted before it is tried (throttle.reserve), in the same
// transaction that checks the wait, so that concurrent attempts cannot all
// pass one check: an attempt in flight counts as a failure until it
// succeeds (throttle.release).
const (
	freeUserFailures   = 5                // per username
	freeAddrFailures   = 20               // per address: NATs share addresses
	freeClientFailures = 20               // client secrets per address
	firstBackoff       = time.Second      // after the free failures
	maxBackoff         = 15 * time.Minute // ceiling of the wait
	failureWindow      = time.Hour        // a failure older than this is forgotten
)

// Prefixes of the throttle keys.
const (
	userKey       = "user:"        // a username (password grant)
	addrKey       = "addr:"        // a client address (password grant)
	clientAddrKey = "client-addr:" // a client address (client secrets)
)

// throttleKeys are the keys a login attempt is counted under.
func throttleKeys(username, addr string) []string {
	if len(username) > maxNameLen {
		// No longer username can exist. Cut at a character boundary: the
		// key goes to a text column, which holds only valid UTF-8.
		n := maxNameLen
		for n > 0 && !utf8.RuneStart(username[n]) {
			n--
		}
		username = username[:n]
	}
	keys := []string{userKey + username}
	if addr != "" {
		keys = append(keys, addrKey+addr)
	}
	return keys
}

// freeFailures is how many failures a key may have before it waits.
func freeFailures(key string) int {
	switch {
	case strings.HasPrefix(key, userKey):
		return freeUserFailures
	case strings.HasPrefix(key, clientAddrKey):
		return freeClientFailures
	default:
		return freeAddrFailures
	}
}

// backoff is how long to wait after the given number of failures.
func backoff(failures, free int) time.Duration {
	if failures < free {
		return 0
	}
	shift := failures - free
	if shift > 20 {
		return maxBackoff
	}
	return min(firstBackoff<<shift, maxBackoff)
}

// mustWait is how long an attempt must wait at now given its keys'
// records, and the key that imposes the longest wait.
func mustWait(records []models.LoginFailure, now time.Time) (time.Duration, string) {
	var wait time.Duration
	var key string
	for _, r := range records {
		if now.Sub(r.LastAt) >= failureWindow {
			continue // forgotten
		}
		b := backoff(r.Failures, freeFailures(r.Key))
		if b == 0 {
			// Within the free failures nothing waits, even when a
			// concurrent attempt (another request or instance) counted
			// itself at a later instant than this one's now.
			continue
		}
		if d := r.LastAt.Add(b).Sub(now); d > wait {
			wait, key = d, r.Key
		}
	}
	return wait, key
}

// throttle counts login and client-secret attempts in the store.
type throttle struct {
	store   ThrottleStore
	now     func() time.Time
	log     *slog.Logger
	metrics Metrics
}

// reserve counts an attempt under keys before it is tried, or
// refuses it with ErrThrottled while one of the keys waits.
func (s *throttle) reserve(ctx context.Context, keys []string) error {
	now := s.now()
	var subject string
	wait, err := s.store.ReserveLoginAttempt(ctx, keys, now, failureWindow, func(rs []models.LoginFailure) time.Duration {
		var d time.Duration
		d, subject = mustWait(rs, now)
		return d
	})
	if err != nil {
		return fromStore(err, "reserve login attempt")
	}
	if wait <= 0 {
		return nil
	}
	s.metrics.LoginThrottled()
	// The subject is a username or an address, never a secret.
	s.log.WarnContext(ctx, "login throttled", "subject", subject, "retry_after", wait.Round(time.Second))
	return ErrThrottled.Describe("too many failed attempts; retry after %d seconds", int(math.Ceil(wait.Seconds()))).After(wait)
}

// release takes back the reservation of an attempt that succeeded
// or was never tried: the failures of clear are forgotten, the attempt is
// taken off the counts of release.
func (s *throttle) release(ctx context.Context, clear, release []string) error {
	if err := s.store.ReleaseLoginAttempt(ctx, clear, release); err != nil {
		return fromStore(err, "release login attempt")
	}
	return nil
}
