package gormstore

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/batonhq/baton/models"
)

// Group commit of one-step rotations on Postgres.
//
// A refresh costs Postgres little work on rows (an index lookup of the
// session, of its user, one HOT update) and much more per statement and per
// transaction: a round trip, a wake-up of the backend, a snapshot, the
// executor's start and end, a commit and its WAL flush. Under concurrency
// the rotations waiting for the database are therefore written together:
// one statement (rotatePostgres) rotates every session of the batch that
// may rotate, in one implicit transaction, so they share one round trip,
// one executor run and one commit. Each row keeps its own checks. A session
// named twice in a batch goes in once, and its other presentations take
// the full rules. The transaction is all or nothing: when it fails, every
// rotation in it fails (and Store.retry runs it again on a deadlock).
//
// A rotation never waits for a batch to fill: when no batch is being
// written, the waiting rotations go at once, so a lone refresh costs what it
// did alone. Batches form while the database is busy with the one before.
// One writer at a time makes the largest batches, and was faster than a
// second writer (docs/PERFORMANCE.md, "Group commit"). But a batch can wait for a row lock (a session being ended, another instance's
// batch), and that must not hold up every refresh of the instance: a batch
// still unwritten after stuckAfter stops counting as the writer, and the
// rotations that wait go in a batch of their own.
const (
	stuckAfter    = 10 * time.Millisecond // well above a batch's usual time (docs/PERFORMANCE.md), far below a lock wait
	maxBatch      = 64                    // rotations per batch
	batchDeadline = 30 * time.Second
)

// rotationCall is one rotation waiting to be written.
type rotationCall struct {
	ctx     context.Context
	r       models.Rotation
	row     sessionRow
	rotated bool  // false: the rotation did not apply
	err     error // the batch's error
	done    chan struct{}
}

// rotationBatcher collects rotationCalls and writes them in batches.
type rotationBatcher struct {
	write func(ctx context.Context, calls []*rotationCall) error

	mu      sync.Mutex
	pending []*rotationCall
	writing bool // a writer runs whose batch is not stuck
}

// rotate queues one rotation and waits for its batch (or for ctx: the
// rotation may then still be written, like a request whose client went
// away after the statement was sent).
func (b *rotationBatcher) rotate(ctx context.Context, r models.Rotation) (sessionRow, bool, error) {
	c := &rotationCall{ctx: ctx, r: r, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	b.startWriterLocked()
	b.mu.Unlock()
	select {
	case <-c.done:
		return c.row, c.rotated, c.err
	case <-ctx.Done():
		return sessionRow{}, false, ctx.Err()
	}
}

// startWriterLocked starts a writer if rotations wait and none runs.
func (b *rotationBatcher) startWriterLocked() {
	if !b.writing && len(b.pending) > 0 {
		b.writing = true
		go b.writer()
	}
}

// writer writes batches until none is pending, or until one of its
// batches is stuck: another writer then takes over, and this one ends
// with that batch.
func (b *rotationBatcher) writer() {
	for {
		b.mu.Lock()
		calls := b.takeLocked()
		if calls == nil {
			b.writing = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		if len(calls) == 0 {
			continue
		}
		stuck, finished := false, false
		relief := time.AfterFunc(stuckAfter, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if !finished {
				stuck, b.writing = true, false
				b.startWriterLocked()
			}
		})
		b.writeBatch(calls)
		relief.Stop()
		b.mu.Lock()
		finished = true
		if stuck {
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
	}
}

// takeLocked takes up to maxBatch pending rotations, answering those whose
// caller has gone instead of writing them; nil when none was pending.
func (b *rotationBatcher) takeLocked() []*rotationCall {
	n := min(len(b.pending), maxBatch)
	if n == 0 {
		return nil
	}
	calls := make([]*rotationCall, 0, n)
	for _, c := range b.pending[:n] {
		if err := c.ctx.Err(); err != nil { // its caller has gone: do not rotate
			c.err = err
			close(c.done)
			continue
		}
		calls = append(calls, c)
	}
	b.pending = slices.Delete(b.pending, 0, n) // zeroes the tail: no call is kept alive
	return calls
}

// writeBatch writes one batch and answers its callers.
func (b *rotationBatcher) writeBatch(calls []*rotationCall) {
	// Each statement locks the session it rotates, so batches lock in the
	// order of their sessions: sorted, any two batches (of this instance
	// or another) that share sessions lock them in the same order and
	// cannot deadlock each other.
	slices.SortFunc(calls, func(a, b *rotationCall) int { return strings.Compare(a.r.SessionID, b.r.SessionID) })
	// The batch is not any one caller's: it outlives a caller that goes
	// away, within a deadline of its own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(calls[0].ctx), batchDeadline)
	defer cancel()
	if err := b.write(ctx, calls); err != nil {
		for _, c := range calls {
			c.err = err
		}
	}
	for _, c := range calls {
		close(c.done)
	}
}

// writeRotations sends one batch on one connection, in one transaction,
// retried as a whole on a deadlock. It sets each call's row and rotated
// only once the transaction has committed.
func (s *Store) writeRotations(ctx context.Context, calls []*rotationCall) error {
	return s.retry(ctx, func() error {
		conn, err := s.sqlDB.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		return conn.Raw(func(driverConn any) error {
			return rotateBatch(ctx, driverConn.(*stdlib.Conn).Conn(), calls)
		})
	})
}

// rotateBatch writes a batch as one statement, rotatePostgres, in one
// implicit transaction. A session presented twice in one batch goes in
// once; its other calls are answered not rotated and take the full rules,
// which wait for this statement's row lock and then see what it wrote.
func rotateBatch(ctx context.Context, pc *pgx.Conn, calls []*rotationCall) error {
	n := len(calls)
	ids, gens, checks, clients := make([]string, 0, n), make([]int64, 0, n), make([][]byte, 0, n), make([]string, 0, n)
	ats, useds := make([]int64, 0, n), make([]int64, 0, n)
	byID := make(map[string]*rotationCall, n)
	for _, c := range calls {
		c.row, c.rotated = sessionRow{}, false
		if _, dup := byID[c.r.SessionID]; dup {
			continue
		}
		byID[c.r.SessionID] = c
		r := c.r
		ids, gens, checks, clients = append(ids, r.SessionID), append(gens, r.Gen), append(checks, r.Check), append(clients, r.ClientID)
		ats, useds = append(ats, int64(toMicros(r.At))), append(useds, int64(toMicros(r.UsedAfter)))
	}
	rows, err := pc.Query(ctx, rotatePostgres, ids, gens, checks, clients, ats, useds)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var row sessionRow
		if err := rows.Scan(&row.ID, &row.UserID, &row.ClientID, &row.Scope, &row.CreatedAt, &row.ExpiresAt,
			&row.AuthTime, &row.RefreshGen, &row.RefreshCheck); err != nil {
			return err
		}
		if c := byID[row.ID]; c != nil {
			c.row, c.rotated = row, true
		}
	}
	return rows.Err()
}
