package oauth

import (
	"context"
	"time"

	"github.com/batonhq/baton/internal/schedule"
)

// purgeBatch bounds each purge statement, so that the token endpoint's
// transactions interleave with the purge instead of waiting behind it.
const purgeBatch = 500

// Maintenance is the background work of a server (and `baton sessions
// purge`): sessions past their limits end, old rows are purged and sealed
// successors forgotten. It is safe for concurrent use.
type Maintenance struct {
	*shared
	store MaintenanceStore
}

// NewMaintenance returns the maintenance operations on store.
func NewMaintenance(store MaintenanceStore, sh *Shared) *Maintenance {
	return &Maintenance{shared: sh.sh, store: store}
}

// Run performs the service's background work until ctx is done: sealed
// successors are dropped once the grace window has passed, and every
// purgeEvery sessions past their limits are ended and old data purged.
func (s *Maintenance) Run(ctx context.Context, purgeEvery time.Duration) {
	schedule.Run(ctx,
		schedule.Job{Every: max(s.opts.RefreshReuseGrace, time.Second), Do: s.ForgetSuccessors},
		schedule.Job{Every: purgeEvery, Do: func(ctx context.Context) {
			if err := s.Purge(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "purge", "err", err)
			}
		}})
}

// Purge ends the sessions past their idle or absolute limit (recording
// why), deletes the refresh tokens of ended sessions, and deletes sessions
// that ended longer ago than the audit retention, and the revocations of
// access tokens that have expired since. It works in batches.
func (s *Maintenance) Purge(ctx context.Context) error {
	now := s.now()
	steps := []struct {
		what string
		run  func() (int64, error) // at most purgeBatch rows of each kind it handles; done when fewer
	}{
		{"sessions expired", func() (int64, error) {
			return s.store.EndExpiredSessions(ctx, now, s.opts.RefreshIdleTTL, purgeBatch)
		}},
		{"refresh tokens purged", func() (int64, error) { return s.store.PurgeTokens(ctx, now, purgeBatch) }},
		{"sessions purged", func() (int64, error) {
			return s.store.PurgeSessions(ctx, now.Add(-s.opts.AuditRetention), purgeBatch)
		}},
		{"revoked access tokens purged", func() (int64, error) { return s.store.PurgeRevokedTokens(ctx, now, purgeBatch) }},
		// Kept an hour past expiry so that a late replay still revokes.
		{"authorization codes purged", func() (int64, error) {
			return s.store.PurgeAuthorizationCodes(ctx, now.Add(-time.Hour), purgeBatch)
		}},
	}
	for _, step := range steps {
		var total int64
		for {
			n, err := step.run()
			if err != nil {
				return fromStore(err, step.what)
			}
			total += n
			if n < purgeBatch || ctx.Err() != nil {
				break
			}
		}
		if total > 0 {
			s.log.InfoContext(ctx, step.what, "count", total)
		}
	}
	// A small table (one row per throttled name or address): one statement.
	if _, err := s.store.PurgeLoginFailures(ctx, now.Add(-failureWindow)); err != nil {
		return fromStore(err, "login failures purged")
	}
	return nil
}

// ForgetSuccessors drops the sealed successors of tokens rotated longer ago
// than the grace window.
func (s *Maintenance) ForgetSuccessors(ctx context.Context) {
	n, err := s.store.ForgetSuccessors(ctx, s.now().Add(-s.opts.RefreshReuseGrace))
	if err != nil {
		if ctx.Err() == nil {
			s.log.WarnContext(ctx, "forget sealed successors", "err", err)
		}
		return
	}
	if n > 0 {
		s.log.DebugContext(ctx, "forgot sealed successors", "count", n)
	}
}
