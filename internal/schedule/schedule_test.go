package schedule

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestRun: each job runs on its schedule, never two at once, and Run
// returns once its context is done.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var running, overlaps atomic.Int32
	var runs [2]atomic.Int32
	job := func(i int) Job {
		return Job{Every: time.Millisecond, Do: func(context.Context) {
			if running.Add(1) > 1 {
				overlaps.Add(1)
			}
			runs[i].Add(1)
			time.Sleep(time.Millisecond)
			running.Add(-1)
		}}
	}
	done := make(chan struct{})
	go func() {
		Run(ctx, job(0), job(1))
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for (runs[0].Load() < 3 || runs[1].Load() < 3) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context was done")
	}
	if runs[0].Load() < 3 || runs[1].Load() < 3 {
		t.Errorf("runs = %d, %d; want each job run at least 3 times", runs[0].Load(), runs[1].Load())
	}
	if n := overlaps.Load(); n > 0 {
		t.Errorf("jobs ran at the same time %d times", n)
	}
}
