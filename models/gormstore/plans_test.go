//go:build plans

// The query-plan and schema assertions of the Postgres hot path: they pin
// what Postgres's planner and HOT updates do with our schema, which can
// change with the Postgres version rather than with our code, so they run
// with -tags plans (.ci/run runs them once against Postgres) and not in
// the README's test command.

package gormstore_test

import (
	"database/sql"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/batonhq/baton/models/gormstore"
	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// TestRotationWritesNoIndexEntry pins what lets Postgres update a token
// and a session in place (HOT): no index covers a column that a rotation
// updates, in its key or its predicate.
func TestRotationWritesNoIndexEntry(t *testing.T) {
	url := gormtest.FreshSchema(t, gormtest.PostgresURL(t))
	gormtest.OpenPostgresAt(t, url)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT tablename, indexdef FROM pg_indexes
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
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := t.Context()
	for _, stmt := range []string{
		`INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at, refresh_gen, refresh_check)
			SELECT 'bulk' || i, 'u', 'c', '', 1, 1, 9000000000000000, 1, '\x00' FROM generate_series(1, 3000) i`,
		`VACUUM`, // no ANALYZE: the plan must not hang on fresh statistics
		`SET plan_cache_mode = force_generic_plan`,
		`PREPARE rotate(text[], bigint[], bytea[], text[], bigint[], bigint[]) AS ` + gormstore.RotatePostgres,
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%.60s: %v", stmt, err)
		}
	}
	for _, stats := range []string{"without statistics", "analyzed"} {
		if stats == "analyzed" {
			if _, err := conn.ExecContext(ctx, `ANALYZE`); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := conn.QueryContext(ctx, `EXPLAIN (COSTS OFF) EXECUTE rotate('{s1,bulk7}', '{1,1}', '{"\\\\x00","\\\\x00"}', '{c,c}', '{1,1}', '{0,0}')`)
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(line + "\n")
		}
		rows.Close()
		p := plan.String()
		byKey := strings.Contains(p, "Index Scan using sessions_pkey on sessions")
		if !byKey || strings.Contains(p, "Seq Scan on sessions") || strings.Contains(p, "sessions_live_expires") {
			t.Fatalf("%s, the plan does not find the sessions by their key:\n%s", stats, p)
		}
		if testing.Verbose() {
			t.Logf("%s:\n%s", stats, p)
		}
	}
}
