package oauth

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"
)

// Throttling of the password grant (SPEC §3): after a few free failures, a
// username or a client address must wait before its next attempt, the wait
// doubling with every failure up to a ceiling. The counts live in the
// database, so every instance enforces the same limits.
const (
	freeUserFailures = 5                // per username
	freeAddrFailures = 20               // per address: NATs share addresses
	firstBackoff     = time.Second      // after the free failures
	maxBackoff       = 15 * time.Minute // ceiling of the wait
	failureWindow    = time.Hour        // a failure older than this is forgotten
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
	keys := []string{"user:" + username}
	if addr != "" {
		keys = append(keys, "addr:"+addr)
	}
	return keys
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

// checkThrottle refuses an attempt while the username or the address waits.
// It reports whether the username has failures on record.
func (s *Service) checkThrottle(ctx context.Context, keys []string) (bool, error) {
	records, err := s.store.LoginFailures(ctx, keys)
	if err != nil {
		return false, fmt.Errorf("read login failures: %w", err)
	}
	userFailed := false
	now := s.now()
	var wait time.Duration
	for _, r := range records {
		free := freeUserFailures
		if r.Key == keys[0] {
			userFailed = true
		} else {
			free = freeAddrFailures
		}
		if until := r.LastAt.Add(backoff(r.Failures, free)); until.After(now) && now.Sub(r.LastAt) < failureWindow {
			wait = max(wait, until.Sub(now))
		}
	}
	if wait > 0 {
		s.opts.Metrics.LoginThrottled()
		s.log.WarnContext(ctx, "login throttled", "retry_after", wait.Round(time.Second))
		return userFailed, ErrSlowDown.Describe("too many failed logins; retry later").After(wait)
	}
	return userFailed, nil
}

// recordFailure counts a failed login under its keys.
func (s *Service) recordFailure(ctx context.Context, keys []string) error {
	if err := s.store.RecordLoginFailure(ctx, keys, s.now(), failureWindow); err != nil {
		return fmt.Errorf("record login failure: %w", err)
	}
	return nil
}
