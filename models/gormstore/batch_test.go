package gormstore_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// TestRotationsShareCommits shows group commit on Postgres from the
// database's side: rotations that wait while a batch is being written go
// together, in one transaction, so their successors carry one xmin. The
// first batch is held on a session's row lock; the rotations of 50 other
// sessions must all go meanwhile (the held batch stops counting as the
// writer), succeed, and share transactions; the held one completes once the
// lock is released.
func TestRotationsShareCommits(t *testing.T) {
	url := gormtest.FreshSchema(t, gormtest.PostgresURL(t))
	s := gormtest.OpenPostgresAt(t, url)
	ctx, now := t.Context(), time.Now()
	const others = 50
	seedSession(t, s) // session s1, user u, client c
	ids := []string{"s1"}
	for i := 1; i <= others; i++ {
		ids = append(ids, fmt.Sprint("o", i))
		sess := models.Session{ID: ids[i], UserID: "u", ClientID: "c", CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour),
			RefreshGen: 1, RefreshCheck: seedCheck}
		if _, err := s.CreateSession(ctx, sess, 0); err != nil {
			t.Fatal(err)
		}
	}

	db, tx, waitBlocked := lockSession(t, url, "s1")

	errs := make([]error, others+1)
	rotate := func(i int) {
		var ok bool
		_, ok, errs[i] = s.RotateRefresh(ctx, models.Rotation{SessionID: ids[i], Gen: 1, Check: seedCheck, ClientID: "c",
			At: time.Now(), UsedAfter: now.Add(-time.Hour)})
		if errs[i] == nil && !ok {
			errs[i] = fmt.Errorf("session %s: not rotated", ids[i])
		}
	}
	held := make(chan error, 1)
	go func() { rotate(0); held <- errs[0] }()
	waitBlocked(held)

	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i := 1; i <= others; i++ {
		wg.Go(func() {
			rotate(i)
			mu.Lock()
			done++
			mu.Unlock()
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		mu.Lock()
		n := done
		mu.Unlock()
		t.Fatalf("%d of %d rotations went while one batch waited for a lock", n, others)
	}
	select {
	case <-held:
		t.Fatal("the held rotation did not wait for the session's lock")
	default:
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	<-held
	for i, err := range errs {
		if err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
	}

	var rows, commits int
	if err := db.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT xmin::text) FROM sessions WHERE id = ANY($1) AND refresh_gen = 2`,
		ids[1:]).Scan(&rows, &commits); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rotations in %d transactions", rows, commits)
	if rows != others || commits >= others {
		t.Fatalf("%d successors in %d transactions: want %d successors in fewer transactions", rows, commits, others)
	}
}
