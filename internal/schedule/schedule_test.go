package schedule

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestRun: each job runs on its own schedule, never two at once, and Run
// returns once its context is done. Time is the bubble's: no real waiting.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var running, overlaps atomic.Int32
		var runs [2]atomic.Int32
		job := func(i int, every time.Duration) Job {
			return Job{Every: every, Do: func(context.Context) {
				if running.Add(1) > 1 {
					overlaps.Add(1)
				}
				runs[i].Add(1)
				time.Sleep(time.Millisecond) // the job's work, on the bubble's clock
				running.Add(-1)
			}}
		}
		done := make(chan struct{})
		go func() {
			Run(ctx, job(0, 10*time.Millisecond), job(1, 25*time.Millisecond))
			close(done)
		}()
		time.Sleep(100*time.Millisecond + time.Microsecond) // the bubble's clock
		synctest.Wait()
		// Ticks at 50 and 100 ms coincide: one of the two jobs waits 1 ms.
		if a, b := runs[0].Load(), runs[1].Load(); a < 9 || a > 10 || b < 3 || b > 4 {
			t.Errorf("in 100 ms: %d runs every 10 ms and %d every 25 ms; want 9-10 and 3-4", a, b)
		}
		if n := overlaps.Load(); n > 0 {
			t.Errorf("jobs ran at the same time %d times", n)
		}
		cancel() // a job may be running: Run returns when it has finished
		select {
		case <-done:
		case <-time.After(time.Second): // the bubble's clock
			t.Fatal("Run did not return after its context was done")
		}
	})
}
