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
	var one sync.Mutex // jobs share the store: they run one at a time
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
					one.Lock()
					if ctx.Err() == nil {
						j.Do(ctx)
					}
					one.Unlock()
				}
			}
		})
	}
	wg.Wait()
}
