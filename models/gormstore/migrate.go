package gormstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// migration is one versioned schema change, written out per dialect so the
// schema is reviewable and identical on every instance.
type migration struct {
	version  int
	name     string
	sqlite   []string
	postgres []string
}

// migrations are applied in order; never edit one that has shipped, add the next.
var migrations = []migration{
	{
		version:  1,
		name:     "users, clients, sessions, refresh tokens, signing keys",
		sqlite:   schemaV1("BLOB", "INTEGER"),
		postgres: schemaV1("BYTEA", "BOOLEAN"),
	},
	{
		version:  2,
		name:     "indexes for session expiry and purge",
		sqlite:   schemaV2(),
		postgres: schemaV2(),
	},
	{
		version: 3,
		name:    "login failures for the password-grant throttle",
		sqlite: []string{`CREATE TABLE login_failures (subject TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure_at BIGINT NOT NULL)`,
			`CREATE INDEX login_failures_last ON login_failures (last_failure_at)`},
		postgres: []string{`CREATE TABLE login_failures (subject TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure_at BIGINT NOT NULL)`,
			`CREATE INDEX login_failures_last ON login_failures (last_failure_at)`},
	},
	{
		version:  4,
		name:     "rotation touches no indexed column: sealed successor moves to the successor's row",
		sqlite:   schemaV4("BLOB", false),
		postgres: schemaV4("BYTEA", true),
	},
	{
		version:  5,
		name:     "user roles; revoked client_credentials access tokens",
		sqlite:   schemaV5(),
		postgres: schemaV5(),
	},
	{
		version:  6,
		name:     "authorization code flow: client redirect URIs, origins, trust; codes; consents; session auth_time",
		sqlite:   schemaV6("BLOB", "INTEGER"),
		postgres: schemaV6("BYTEA", "BOOLEAN"),
	},
	{
		version:  7,
		name:     "refresh tokens by generation: one row per session whatever the refreshes",
		sqlite:   schemaV7("BLOB"),
		postgres: schemaV7("BYTEA"),
	},
	{
		version:  8,
		name:     "live sessions indexed by the day of their last use, for the idle sweep",
		sqlite:   schemaV8("INTEGER", "VIRTUAL"),
		postgres: schemaV8("BIGINT", "STORED"),
	},
	{
		version:  9,
		name:     "a version of the clients, for the caches of running servers",
		sqlite:   schemaV9(),
		postgres: schemaV9(),
	},
}

// schemaV9 counts changes to clients: every change of a client bumps the
// one row of client_changes in its transaction, and a running server's
// client cache reads it now and then to learn that a client changed in
// another process (the CLI, another instance).
func schemaV9() []string {
	return []string{
		`CREATE TABLE client_changes (id INTEGER PRIMARY KEY, version BIGINT NOT NULL)`,
		`INSERT INTO client_changes (id, version) VALUES (1, 0)`,
	}
}

// schemaV8 lets the purge's idle sweep find the sessions past their idle
// limit through an index instead of reading every live session each
// minute. An index on last_used_at would cost every rotation an index
// entry (no HOT update, schemaV4); used_day, the day of the last use, is
// computed by the database from last_used_at, so every write keeps it
// right, and it changes at most once a day per session: the other
// rotations of the day stay HOT (TestRotationStaysHOT). The sweep reads the
// live sessions whose day is at most the limit's day, then checks
// last_used_at. Postgres stores the column (adding it rewrites the table,
// under an exclusive lock: docs/upgrades.md); SQLite computes it on read.
func schemaV8(integer, kind string) []string {
	return []string{
		`ALTER TABLE sessions ADD COLUMN used_day ` + integer + ` GENERATED ALWAYS AS (last_used_at / ` + strconv.FormatInt(dayMicros, 10) + `) ` + kind,
		`CREATE INDEX sessions_live_used_day ON sessions (used_day) WHERE ended_at IS NULL`,
	}
}

// schemaV7 moves the refresh-token chain onto the session row: the
// generation of the current token, when it was rotated, and the hash of
// the nonce its tokens carry (oauth/refresh_token.go). A session started
// before it keeps generation 0 and no nonce: its current legacy token
// (refresh_tokens) works once more and upgrades it; its spent legacy
// tokens still revoke it. No row is added to refresh_tokens any more, and
// the purge deletes a session's legacy rows once it has ended, so the
// table empties as legacy sessions end. Tokens of sessions that ended
// already are dropped now. The new columns have constant defaults: adding
// them rewrites no table.
func schemaV7(bytes string) []string {
	return []string{
		`ALTER TABLE sessions ADD COLUMN refresh_gen BIGINT NOT NULL DEFAULT 0`,
		`ALTER TABLE sessions ADD COLUMN rotated_at BIGINT`,
		`ALTER TABLE sessions ADD COLUMN refresh_check ` + bytes,
		`DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE ended_at IS NOT NULL)`,
	}
}

// schemaV5 gives users their roles (space-separated; existing users have
// none) and remembers the jti of revoked access tokens that have no
// session (client_credentials) until they expire; the purge deletes them
// by expires_at.
func schemaV5() []string {
	return []string{
		`ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT ''`,
		`CREATE TABLE revoked_tokens (jti TEXT PRIMARY KEY, expires_at BIGINT NOT NULL)`,
		`CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at)`,
	}
}

// schemaV6 adds the authorization code flow (SPEC §6): the client's
// redirect URIs and browser origins (space-separated, like grants and
// scopes) and whether it is first-party; one-time codes, stored by hash;
// consents per user and client; and the time of the login that started a
// session (OIDC auth_time, NULL: the session's created_at).
func schemaV6(bytes, boolean string) []string {
	return []string{
		`ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE clients ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE clients ADD COLUMN trusted ` + boolean + ` NOT NULL DEFAULT ` + falseLit(boolean),
		`ALTER TABLE sessions ADD COLUMN auth_time BIGINT`,
		`CREATE TABLE authorization_codes (
			hash ` + bytes + ` PRIMARY KEY,
			client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
			user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
			redirect_uri TEXT NOT NULL,
			code_challenge TEXT NOT NULL,
			scope TEXT NOT NULL,
			nonce TEXT NOT NULL DEFAULT '',
			auth_time BIGINT NOT NULL,
			created_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL,
			used_at BIGINT,
			session_id TEXT NOT NULL DEFAULT '',
			replayed_at BIGINT
		)`,
		`CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at)`,
		`CREATE TABLE consents (
			user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
			client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
			scope TEXT NOT NULL,
			updated_at BIGINT NOT NULL,
			PRIMARY KEY (user_id, client_id)
		)`,
	}
}

// schemaV4 makes a rotation's two updates eligible for Postgres HOT updates
// (no index entry written): the spent token's update sets only spent_at
// and successor_hash, and the session's only last_used_at, none of them
// indexed any more. The sealed successor, written once per rotation, now
// travels with the successor's own row (column sealed: this token, sealed
// under its predecessor), inserted in the same statement; it is forgotten
// by the successor's created_at, which is the predecessor's spent_at. The
// idle sweep of the purge scans live sessions instead of an index on
// last_used_at: once per purge interval instead of one index entry per
// refresh. Free space left in each page (fillfactor) lets the updated row
// stay on its page.
func schemaV4(bytes string, postgres bool) []string {
	stmts := []string{
		`ALTER TABLE refresh_tokens ADD COLUMN sealed ` + bytes,
		`UPDATE refresh_tokens SET sealed = (SELECT p.sealed_successor FROM refresh_tokens p WHERE p.successor_hash = refresh_tokens.hash)
			WHERE hash IN (SELECT successor_hash FROM refresh_tokens WHERE sealed_successor IS NOT NULL)`,
		`DROP INDEX refresh_tokens_sealed`,
		`ALTER TABLE refresh_tokens DROP COLUMN sealed_successor`,
		`CREATE INDEX refresh_tokens_sealed ON refresh_tokens (created_at) WHERE sealed IS NOT NULL`,
		`DROP INDEX sessions_live_last_used`,
	}
	if postgres {
		stmts = append(stmts, `ALTER TABLE sessions SET (fillfactor = 70)`, `ALTER TABLE refresh_tokens SET (fillfactor = 85)`)
	}
	return stmts
}

// schemaV2 indexes what the background purge scans: live sessions by their
// limits, ended sessions by their end.
func schemaV2() []string {
	return []string{
		`CREATE INDEX sessions_live_expires ON sessions (expires_at) WHERE ended_at IS NULL`,
		`CREATE INDEX sessions_live_last_used ON sessions (last_used_at) WHERE ended_at IS NULL`,
		`CREATE INDEX sessions_ended ON sessions (ended_at) WHERE ended_at IS NOT NULL`,
	}
}

// schemaV1 is the first schema; the dialects differ only in the byte and
// boolean types. Times are BIGINT microseconds since the epoch (times.go).
func schemaV1(bytes, boolean string) []string {
	return []string{
		`CREATE TABLE users (
			id TEXT PRIMARY KEY,
			username TEXT NOT NULL UNIQUE,
			password_hash TEXT NOT NULL,
			disabled ` + boolean + ` NOT NULL DEFAULT ` + falseLit(boolean) + `,
			created_at BIGINT NOT NULL
		)`,
		`CREATE TABLE clients (
			id TEXT PRIMARY KEY,
			secret_hash TEXT NOT NULL DEFAULT '',
			public ` + boolean + ` NOT NULL,
			grants TEXT NOT NULL,
			scopes TEXT NOT NULL,
			created_at BIGINT NOT NULL
		)`,
		`CREATE TABLE sessions (
			id TEXT PRIMARY KEY,
			user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
			client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
			scope TEXT NOT NULL,
			created_at BIGINT NOT NULL,
			last_used_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL,
			ended_at BIGINT,
			end_reason TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX sessions_user_id ON sessions (user_id, created_at)`,
		`CREATE TABLE refresh_tokens (
			hash ` + bytes + ` PRIMARY KEY,
			session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
			created_at BIGINT NOT NULL,
			spent_at BIGINT,
			successor_hash ` + bytes + `,
			sealed_successor ` + bytes + `
		)`,
		`CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id)`,
		`CREATE INDEX refresh_tokens_sealed ON refresh_tokens (spent_at) WHERE sealed_successor IS NOT NULL`,
		`CREATE TABLE signing_keys (
			id TEXT PRIMARY KEY,
			alg TEXT NOT NULL,
			state TEXT NOT NULL,
			public_jwk ` + bytes + ` NOT NULL,
			sealed_key ` + bytes + ` NOT NULL,
			created_at BIGINT NOT NULL,
			activate_at BIGINT,
			retire_at BIGINT,
			remove_at BIGINT
		)`,
	}
}

func falseLit(boolean string) string {
	if boolean == "BOOLEAN" {
		return "FALSE"
	}
	return "0"
}

// migrateLock is the Postgres advisory lock that serialises migrations of
// instances starting at once.
const migrateLock = 0x6261746f6e01 // "baton" 1

// Migrate applies the migrations not yet recorded in schema_migrations, each
// in its own transaction, and returns how many it applied.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	return s.migrate(ctx, len(migrations))
}

// migrate applies the migrations up to version upTo.
func (s *Store) migrate(ctx context.Context, upTo int) (int, error) {
	applied := 0
	for _, m := range migrations[:upTo] {
		done := false
		err := s.transaction(ctx, func(tx *gorm.DB) error {
			done = false
			if err := s.lockMigrations(tx); err != nil {
				return err
			}
			var n int64
			if err := tx.Raw(`SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			stmts := m.sqlite
			if s.dialect == dialectPostgres {
				stmts = m.postgres
			}
			for _, stmt := range stmts {
				if err := tx.Exec(stmt).Error; err != nil {
					return fmt.Errorf("migration %d: %w", m.version, err)
				}
			}
			done = true
			return tx.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, time.Now().UnixMicro()).Error
		})
		if err != nil {
			return applied, fmt.Errorf("gormstore: migrate: %w", err)
		}
		if done {
			applied++
			s.log.Info("schema migration applied", "version", m.version, "name", m.name)
		}
	}
	return applied, nil
}

// lockMigrations takes the migration lock (Postgres; SQLite's immediate
// transaction already excludes other writers) and creates the bookkeeping
// table inside it.
func (s *Store) lockMigrations(tx *gorm.DB) error {
	if s.dialect == dialectPostgres {
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(?)`, migrateLock).Error; err != nil {
			return err
		}
	}
	return tx.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at BIGINT NOT NULL
	)`).Error
}
