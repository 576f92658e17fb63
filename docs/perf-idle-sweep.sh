#!/usr/bin/env bash
# The purge's search for sessions past their limits (what serve runs every
# minute), on N sessions (half live, none of them due; half ended), before
# and after migration 8 (sessions indexed by the day of their last use):
# the search's execution time, median of 5, and its plan; and how long
# migration 8 takes on that table. OLD is a commit before migration 8.
#   OLD=fa6adda N=1000000 bash docs/perf-idle-sweep.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${OLD:-fa6adda}; N=${N:-1000000}; PG=postgres://root@127.0.0.1:5432
work=$(mktemp -d)
. docs/perf-lib.sh
build
git worktree add -q --detach "$work/old" "$OLD"
trap 'git worktree remove --force "$work/old"' EXIT
(cd "$work/old" && go build -o "$work/baton-old" ./cmd/baton)
db=baton_perf_sweep
fresh_db $db
baton_env "$PG/$db?sslmode=disable" 8397
"$work/baton-old" client add --id perf --public --grants password,refresh_token >/dev/null # migrates to OLD's schema
fill_sessions $db "$N"
# search QUERY: the sweep's search for due sessions (30-day idle limit; :now
# and :idle are set), five times; prints the median execution time and the
# plan.
search() {
  local vars="SELECT (extract(epoch FROM now()) * 1000000)::bigint AS now, 2592000000000 AS idle \\gset" i ms=()
  for i in 1 2 3 4 5; do
    ms+=("$(printf '%s\nEXPLAIN (ANALYZE, FORMAT JSON) %s;\n' "$vars" "$1" | psql -At "$PG/$db" |
      sed -n 's/.*"Execution Time": \([0-9.]*\).*/\1/p')")
  done
  printf '%s\n' "${ms[@]}" | sort -n | sed -n 3p | xargs printf '  median of 5: %s ms\n'
  printf '%s\nEXPLAIN (COSTS OFF) %s;\n' "$vars" "$1" | psql -At "$PG/$db" | sed 's/^/  /'
}
echo "before migration 8 (last_used_at not indexed):"
search "SELECT id FROM sessions WHERE ended_at IS NULL AND (expires_at <= :now OR last_used_at <= :now - :idle) LIMIT 500"
t0=$(date +%s.%N)
"$bin" migrate
echo "migration 8: $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5) s"
psql -q "$PG/$db" -c "VACUUM ANALYZE sessions"
echo "after (by expires_at and used_day, each in its index's order: models/gormstore/purge.go):"
search "SELECT id FROM (SELECT id FROM sessions WHERE ended_at IS NULL AND expires_at <= :now ORDER BY expires_at LIMIT 500) a
  UNION ALL SELECT id FROM (SELECT id FROM sessions WHERE ended_at IS NULL AND used_day <= (:now - :idle) / 86400000000
  AND last_used_at <= :now - :idle ORDER BY used_day LIMIT 500) b"
psql -At "$PG/$db" -c "SELECT pg_size_pretty(pg_relation_size('sessions_live_used_day')) || ' index of live sessions by day'"
