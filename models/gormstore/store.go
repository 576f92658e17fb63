// Package gormstore implements models.Store with GORM on SQLite (embedded,
// pure Go) and Postgres. Each method runs in a transaction of its own,
// except the one-step refresh rotation on Postgres (RotateRefresh), which
// the batcher (batch.go) writes in one transaction with the other rotations
// waiting at the time, all or nothing. A rotation locks the session row so
// that racing presentations of one token are serialised in either database.
package gormstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/batonhq/baton/models"
)

// Dialects.
const (
	dialectSQLite   = "sqlite"
	dialectPostgres = "postgres"
)

// Store is a models.Store on a GORM database.
type Store struct {
	gate      chan struct{} // one slot per connection: transactions wait in FIFO order (retry)
	db        *gorm.DB
	sqlDB     *sql.DB          // under db, for the refresh hot path (batch.go)
	rotations *rotationBatcher // Postgres: group commit of one-step rotations (batch.go)
	dialect   string
	log       *slog.Logger
}

var _ models.Store = (*Store)(nil)

// Open connects to a database given as sqlite:PATH or postgres://…. It does
// not migrate; call Migrate.
func Open(ctx context.Context, databaseURL string, log *slog.Logger) (*Store, error) {
	dialect, dsn, err := parseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	var dialector gorm.Dialector
	if dialect == dialectSQLite {
		path, _ := SQLiteFile(databaseURL)
		if err := createPrivate(path); err != nil {
			return nil, err
		}
		dialector = sqlite.Open(dsn)
	} else {
		dialector = postgres.Open(dsn)
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		// Never print SQL: its arguments include token and password hashes.
		Logger: logger.Discard,
	})
	if err != nil {
		return nil, fmt.Errorf("gormstore: open %s: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("gormstore: %w", err)
	}
	conns := 4 * runtime.GOMAXPROCS(0) // Postgres: a few per core keep the database busy
	if dialect == dialectSQLite {
		// One connection: SQLite has one writer, and a pool would only
		// queue inside SQLite's lock instead of in Go.
		conns = 1
	} else {
		sqlDB.SetMaxIdleConns(conns)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	sqlDB.SetMaxOpenConns(conns)
	s := &Store{db: db, sqlDB: sqlDB, dialect: dialect, log: log, gate: make(chan struct{}, conns)}
	if dialect == dialectPostgres {
		s.rotations = &rotationBatcher{write: s.writeRotations}
	}
	if err := s.Ping(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("gormstore: connect: %w", err)
	}
	return s, nil
}

// parseURL maps baton's database URL to a GORM dialect and driver DSN.
func parseURL(raw string) (dialect, dsn string, err error) {
	if strings.HasPrefix(raw, "sqlite:") {
		path, synchronous, err := parseSQLite(raw)
		if err != nil {
			return "", "", err
		}
		q := url.Values{}
		for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(" + synchronous + ")", "foreign_keys(1)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate") // take the write lock at BEGIN: no lock-upgrade deadlocks
		return dialectSQLite, "file:" + path + "?" + q.Encode(), nil
	}
	if strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://") {
		u, err := url.Parse(raw)
		if err != nil {
			return "", "", errors.New("gormstore: malformed postgres URL")
		}
		// Fail fast when Postgres is unreachable instead of hanging requests.
		if q := u.Query(); q.Get("connect_timeout") == "" { // absent or empty
			q.Set("connect_timeout", "3")
			u.RawQuery = q.Encode()
		}
		return dialectPostgres, u.String(), nil
	}
	return "", "", errors.New("gormstore: database URL must be sqlite:PATH, postgres://… or postgresql://…")
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.sqlDB.PingContext(ctx)
}

// Close closes the database.
func (s *Store) Close() error {
	return s.sqlDB.Close()
}

// maxAttempts bounds retries of serialization failures and deadlocks.
const maxAttempts = 8

// transaction runs fn in a transaction, retrying it on Postgres
// serialization failures (40001) and deadlocks (40P01).
func (s *Store) transaction(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.retry(ctx, func() error { return s.db.WithContext(ctx).Transaction(fn) })
}

// retry runs fn, which is one transaction, again on Postgres serialization
// failures (40001) and deadlocks (40P01), at most maxAttempts times.
//
// Each attempt first takes a slot of s.gate, one per connection, so that
// transactions wait for a connection here, in FIFO order, and not in
// database/sql, which hands a freed connection to a random waiter: under a
// queue that random order is what makes the slowest requests slow (the p99
// of refreshes; docs/PERFORMANCE.md, "The refresh path").
func (s *Store) retry(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 1; ; attempt++ {
		select {
		case s.gate <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		err = fn()
		<-s.gate
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return translate(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * time.Millisecond):
		}
	}
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// translate maps GORM errors to models sentinels. An error it has mapped
// already comes back unchanged, so a caller of retry (which translates)
// may translate again.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, models.ErrNotFound), errors.Is(err, models.ErrAlreadyExists), errors.Is(err, models.ErrUnavailable):
		return err
	case errors.Is(err, gorm.ErrRecordNotFound):
		return models.ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%w: %w", models.ErrAlreadyExists, err)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		// A row that names one that is gone (a user or client deleted
		// while a login was under way).
		return fmt.Errorf("%w: %w", models.ErrNotFound, err)
	case unavailable(err):
		return fmt.Errorf("%w: %w", models.ErrUnavailable, err)
	}
	return err
}

// unavailable recognises a database that cannot be reached or is going
// away, as opposed to a query that failed.
func unavailable(err error) bool {
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true // whatever the server said while we were connecting
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: shutdown, crash
		// recovery, cannot connect now; 53300: too many connections;
		// 55000 on connect: the database does not accept connections.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P") || pgErr.Code == "53300"
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, context.DeadlineExceeded) ||
		pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed")
}

// Exec runs one statement outside the Store's model (test setup and
// maintenance such as creating a schema).
func (s *Store) Exec(ctx context.Context, sql string, args ...any) error {
	return translate(s.db.WithContext(ctx).Exec(sql, args...).Error)
}

// modelRow is a table's row type, which converts to its models type M.
type modelRow[M any] interface{ model() M }

// findAll reads the rows of R that q selects and returns their models.
func findAll[R modelRow[M], M any](q *gorm.DB) ([]M, error) {
	var rows []R
	if err := q.Find(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]M, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out, nil
}

// takeOne reads the row of R that q selects and returns its model;
// models.ErrNotFound when there is none.
func takeOne[R modelRow[M], M any](q *gorm.DB) (M, error) {
	var row R
	if err := q.Take(&row).Error; err != nil {
		var zero M
		return zero, translate(err)
	}
	return row.model(), nil
}
