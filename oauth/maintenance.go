package oauth

import (
	"context"
	"time"
)

// Run performs the service's background work until ctx is done: sealed
// successors are dropped once the grace window has passed, so that the
// database never keeps more of them than the window needs.
func (s *Service) Run(ctx context.Context) {
	every := max(s.opts.RefreshReuseGrace, time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.ForgetSuccessors(ctx)
		}
	}
}

// ForgetSuccessors drops the sealed successors of tokens rotated longer ago
// than the grace window.
func (s *Service) ForgetSuccessors(ctx context.Context) {
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
