# Sourced by the docs/perf*.sh scripts: the steps they share. A script sets
# work (its temporary folder) and, for Postgres, PG (the server's base URL)
# before it calls them.

# build: builds baton and its load tool into $work, as $bin and $load.
build() {
  go build -o "$work/baton" ./cmd/baton
  go build -o "$work/baton-bench" ./cmd/baton-bench
  bin="$work/baton" load="$work/baton-bench"
}

# fresh_db NAME...: drops and creates each Postgres database.
fresh_db() {
  local db args=()
  for db; do args+=(-c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"); done
  psql "$PG/postgres" -q "${args[@]}" 2>/dev/null
}

# pgbench_db NAME: a fresh pgbench database (scale 1), and $work/update.sql,
# pgbench's script of a one-row UPDATE per transaction.
pgbench_db() {
  fresh_db "$1"
  pgbench -q -i -s 1 "$PG/$1" >/dev/null 2>&1
  printf '\\set aid random(1, 100000)\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n' >"$work/update.sql"
}

# baton_env DATABASE_URL PORT: exports the settings of a baton on
# 127.0.0.1:PORT, with a fresh KEK, logging warnings only.
baton_env() {
  export BATON_DATABASE_URL=$1 BATON_ADDR=127.0.0.1:$2 BATON_ISSUER=http://127.0.0.1:$2
  export BATON_KEK=$(head -c32 /dev/urandom | base64) BATON_LOG_LEVEL=warn
}

# add_users NAME...: users of the password perf-password-1.
add_users() {
  local u
  for u; do printf 'perf-password-1\n' | "$bin" user add --username "$u" --password-stdin >/dev/null; done
}

# wait_ready PORT [TRIES]: waits until the baton on PORT is ready, TRIES
# (default 50) times 0.1 s at the most, and stops the script if it is not.
wait_ready() {
  for _ in $(seq "${2:-50}"); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return; sleep 0.1; done
  echo "baton did not start" >&2; exit 1
}

# fill_sessions NAME N: N sessions of the client perf in database NAME, over
# N/10 users: half live (used within the last day), half ended 45 days ago
# (past the 30-day audit retention), with random nonces (no token exists for
# them); then VACUUM ANALYZE.
fill_sessions() {
  psql -q "$PG/$1" -v n="$2" <<'SQL'
\set ON_ERROR_STOP on
SELECT (extract(epoch FROM now()) * 1000000)::bigint AS now, 86400000000::bigint AS day \gset
INSERT INTO users (id, username, password_hash, created_at)
  SELECT 'fu' || g, 'fill-' || g, 'x', :now - 100 * :day FROM generate_series(1, :n / 10) g;
INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at,
                      ended_at, end_reason, refresh_gen, rotated_at, refresh_check)
  SELECT md5(g::text), 'fu' || (1 + g % (:n / 10)), 'perf', '',
         c, l, c + 90 * :day,
         CASE WHEN g % 2 = 0 THEN :now - 45 * :day END, CASE WHEN g % 2 = 0 THEN 'logout' ELSE '' END,
         1 + g % 300, l, sha256(('nonce' || g)::bytea)
  FROM (SELECT g,
               CASE WHEN g % 2 = 0 THEN :now - 60 * :day ELSE :now - (g % 80) * :day END AS c,
               CASE WHEN g % 2 = 0 THEN :now - 50 * :day ELSE :now - (g % 86400)::bigint * 1000000 END AS l
        FROM generate_series(1, :n) g) s;
VACUUM ANALYZE users;
VACUUM ANALYZE sessions;
SQL
}
