// Package schedule runs a server's periodic background work (the key
// ring's rotation, the service's maintenance) until its context is done.
package schedule

import (
	"context"
	"sync"
	"time"
)

// Job is work done every Every.
type Job struct {
	Every time.Duration
	Do    func(context.Context)
}

// Run does each job every its period, one job at a time, until ctx is
// done; it returns when ctx is done and no job is running. A job that falls
// behind (its own run, or another's, outlasted its period) skips the ticks
// it missed, as a time.Ticker does.
func Run(ctx context.Context, jobs ...Job) {
	// Jobs share the store: they run one at a time. A channel rather than a
	// mutex, so that a job waiting for its turn also stops with ctx (and,
	// in tests, counts as blocked for testing/synctest).
	one := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			t := time.NewTicker(j.Every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				select {
				case <-ctx.Done():
					return
				case one <- struct{}{}:
				}
				j.Do(ctx)
				<-one
			}
		})
	}
	wg.Wait()
}
