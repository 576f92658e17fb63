//go:build plans

// The query-plan and schema assertions of the Postgres hot path: they pin
// what Postgres's planner and HOT updates do with our schema, which can
// change with the Postgres version rather than with our code, so they run
// with -tags plans (.ci/run runs them once against Postgres) and not in
// the README's test command.

package gormstore_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore"
	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// TestRotationWritesNoIndexEntry pins what lets Postgres update a token
// and a session in place (HOT): no index covers a column that a rotation
// updates, in its key or its predicate. (used_day, indexed, follows
// last_used_at but changes once a day: TestRotationStaysHOT.)
func TestRotationWritesNoIndexEntry(t *testing.T) {
	url := gormtest.FreshSchema(t, gormtest.PostgresURL(t))
	gormtest.OpenPostgresAt(t, url)
	rows, err := onOneConn(t, url).QueryContext(t.Context(), `SELECT tablename, indexdef FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename IN ('sessions', 'refresh_tokens')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	updated := map[string][]string{"sessions": {"last_used_at", "refresh_gen", "rotated_at", "refresh_check"}, "refresh_tokens": {"spent_at", "successor_hash"}}
	n := 0
	for rows.Next() {
		var table, def string
		if err := rows.Scan(&table, &def); err != nil {
			t.Fatal(err)
		}
		n++
		for _, col := range updated[table] {
			if strings.Contains(def, col) {
				t.Errorf("index %s covers %s.%s, which every rotation updates", def, table, col)
			}
		}
	}
	if err := rows.Err(); err != nil || n < 4 {
		t.Fatalf("read %d indexes: %v", n, err)
	}
}

// TestRotatePlanUsesPrimaryKey checks the generic plan of the hot-path
// statement on a database with many live sessions, before and after
// ANALYZE: it must find the sessions by a plain index scan of their
// primary key (a bitmap scan leaves dead index entries unmarked, to be
// visited by every later batch), never scan sessions or the index of live
// sessions.
func TestRotatePlanUsesPrimaryKey(t *testing.T) {
	url := gormtest.FreshSchema(t, gormtest.PostgresURL(t))
	s := gormtest.OpenPostgresAt(t, url)
	seedSession(t, s)
	conn := onOneConn(t, url,
		`INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at, refresh_gen, refresh_check)
			SELECT 'bulk' || i, 'u', 'c', '', 1, 1, 9000000000000000, 1, '\x00' FROM generate_series(1, 3000) i`,
		`VACUUM`, // no ANALYZE: the plan must not hang on fresh statistics
		`SET plan_cache_mode = force_generic_plan`,
		`PREPARE rotate(text[], bigint[], bytea[], text[], bigint[], bigint[]) AS `+gormstore.RotatePostgres)
	beforeAndAfterAnalyze(t, conn, func(stats string) {
		p := explain(t, conn, `EXPLAIN (COSTS OFF) EXECUTE rotate('{s1,bulk7}', '{1,1}', '{"\\\\x00","\\\\x00"}', '{c,c}', '{1,1}', '{0,0}')`)
		byKey := strings.Contains(p, "Index Scan using sessions_pkey on sessions")
		if !byKey || strings.Contains(p, "Seq Scan on sessions") || strings.Contains(p, "sessions_live_expires") {
			t.Fatalf("%s, the plan does not find the sessions by their key:\n%s", stats, p)
		}
		if testing.Verbose() {
			t.Logf("%s:\n%s", stats, p)
		}
	})
}

// TestRotationStaysHOT measures what TestRotationWritesNoIndexEntry
// reasons about: rotations of a session within one day are HOT updates
// (no index entry written), and only the first rotation of a new day,
// which moves used_day (schemaV8), writes index entries. The counts are the
// transaction's own (pg_stat_xact_user_tables), on one connection.
func TestRotationStaysHOT(t *testing.T) {
	url := gormtest.FreshSchema(t, gormtest.PostgresURL(t))
	s := gormtest.OpenPostgresAt(t, url)
	ctx := t.Context()
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	check := []byte{1, 2, 3}
	if err := s.CreateUser(ctx, models.User{ID: "u", Username: "u", PasswordHash: "h", CreatedAt: day}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClient(ctx, models.Client{ID: "c", Public: true, Grants: []string{"refresh_token"}, CreatedAt: day}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSession(ctx, models.Session{ID: "s1", UserID: "u", ClientID: "c", CreatedAt: day, LastUsedAt: day,
		ExpiresAt: day.Add(72 * time.Hour), RefreshGen: 1, RefreshCheck: check}, 0); err != nil {
		t.Fatal(err)
	}
	tx, err := onOneConn(t, url).BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	gen := int64(1)
	rotate := func(at time.Time) {
		t.Helper()
		us := at.UnixMicro()
		var n int
		err := tx.QueryRowContext(ctx, `WITH done AS (`+gormstore.RotatePostgres+`) SELECT count(*) FROM done`,
			[]string{"s1"}, []int64{gen}, [][]byte{check}, []string{"c"}, []int64{us}, []int64{us - (48 * time.Hour).Microseconds()}).Scan(&n)
		if err != nil || n != 1 {
			t.Fatalf("rotation of generation %d at %v: %d rows, %v", gen, at, n, err)
		}
		gen++
	}
	updates := func() (all, hot int64) {
		t.Helper()
		if err := tx.QueryRowContext(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'sessions'`).Scan(&all, &hot); err != nil {
			t.Fatal(err)
		}
		return all, hot
	}
	for i := range 10 {
		rotate(day.Add(time.Hour + time.Duration(i)*time.Minute))
	}
	if all, hot := updates(); all != 10 || hot != 10 {
		t.Fatalf("10 rotations within a day: %d updates, %d of them HOT; want all HOT", all, hot)
	}
	rotate(day.Add(25 * time.Hour)) // the next day: used_day moves
	rotate(day.Add(26 * time.Hour))
	if all, hot := updates(); all != 12 || hot != 11 {
		t.Fatalf("then two rotations the next day: %d updates, %d HOT; want 12 and 11 (the day's first writes index entries)", all, hot)
	}
}

// TestIdleSweepPlanUsesIndexes checks the generic plan of the purge's
// sweep of sessions past their limits, on a database with many live
// sessions none of which is due, before and after ANALYZE: it must find
// them through the indexes of live sessions (by expires_at and by
// used_day), never by reading every session.
func TestIdleSweepPlanUsesIndexes(t *testing.T) {
	url := gormtest.FreshSchema(t, gormtest.PostgresURL(t))
	gormtest.OpenPostgresAt(t, url)
	ctx := t.Context()
	now, day := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC).UnixMicro(), gormstore.DayMicros
	stmt := gormstore.EndExpired
	for i := 1; strings.Contains(stmt, "?"); i++ {
		stmt = strings.Replace(stmt, "?", fmt.Sprintf("$%d", i), 1)
	}
	conn := onOneConn(t, url,
		`INSERT INTO users (id, username, password_hash, created_at) VALUES ('u', 'u', 'h', 1)`,
		`INSERT INTO clients (id, public, grants, scopes, created_at) VALUES ('c', TRUE, '', '', 1)`,
		fmt.Sprintf(`INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at, refresh_gen, refresh_check)
			SELECT 'live' || i, 'u', 'c', '', %d, %d - i::bigint * 60000000, %d, 1, '\x00' FROM generate_series(1, 20000) i`, now, now, now+90*day),
		// Ended sessions, kept for the audit, are past both limits: the
		// statistics of the whole table then promise that many rows match.
		fmt.Sprintf(`INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at, refresh_gen, refresh_check, ended_at, end_reason)
			SELECT 'ended' || i, 'u', 'c', '', %d, %d, %d, 1, '\x00', %d, 'idle' FROM generate_series(1, 20000) i`, now-day*90, now-day*60, now-day*10, now-day*30),
		`VACUUM`,
		`PREPARE sweep(bigint, text, text, bigint, bigint, bigint, bigint, bigint, int, bigint, bigint, int) AS `+stmt)
	idle := 30 * day
	beforeAndAfterAnalyze(t, conn, func(stats string) {
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			if _, err := conn.ExecContext(ctx, `SET plan_cache_mode = `+mode); err != nil {
				t.Fatal(err)
			}
			p := explain(t, conn, fmt.Sprintf(`EXPLAIN (COSTS OFF) EXECUTE sweep(%d, 'absolute', 'idle', %d, %d, %d, %d, %d, 500, %d, %d, 500)`,
				idle, idle, idle, now, now-idle, now, (now-idle)/day, now-idle))
			if strings.Contains(p, "Seq Scan on sessions") || !strings.Contains(p, "sessions_live_used_day") || !strings.Contains(p, "sessions_live_expires") {
				t.Fatalf("%s, %s: the sweep does not find due sessions through the indexes of live sessions:\n%s", stats, mode, p)
			}
			// The sessions it updates, it finds by their key.
			for line := range strings.Lines(p) {
				line = strings.TrimSpace(line)
				if strings.Contains(line, "Scan") && strings.HasSuffix(line, " on sessions") && !strings.HasSuffix(line, "Index Scan using sessions_pkey on sessions") {
					t.Fatalf("%s, %s: the update reads sessions other than by key (%s):\n%s", stats, mode, line, p)
				}
			}
			if testing.Verbose() {
				t.Logf("%s, %s:\n%s", stats, mode, p)
			}
		}
	})
}

// onOneConn opens one connection to the database at url, closed when the
// test ends, and runs the setup statements on it.
func onOneConn(t *testing.T, url string, setup ...string) *sql.Conn {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	for _, stmt := range setup {
		if _, err := conn.ExecContext(t.Context(), stmt); err != nil {
			t.Fatalf("%.60s: %v", stmt, err)
		}
	}
	return conn
}

// beforeAndAfterAnalyze runs check on a database without statistics, then
// again after ANALYZE: a plan must not depend on them.
func beforeAndAfterAnalyze(t *testing.T, conn *sql.Conn, check func(stats string)) {
	t.Helper()
	check("without statistics")
	if _, err := conn.ExecContext(t.Context(), `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	check("analyzed")
}

// explain returns the plan EXPLAIN prints, a line a row.
func explain(t *testing.T, conn *sql.Conn, q string) string {
	t.Helper()
	rows, err := conn.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}
