#!/usr/bin/env bash
# The refresh-vs-pgbench part of docs/perf.sh, alone.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}; SECS=${SECS:-8}; PG=postgres://root@127.0.0.1:5432
work=$(mktemp -d)
. docs/perf-lib.sh
build
fresh_db baton_perf_st
pgbench_db pgbench_perf_st
baton_env "$PG/baton_perf_st?sslmode=disable" 8391
add_users perf
"$bin" client add --id perf --public --grants password,refresh_token >/dev/null
"$bin" serve >"$work/serve.log" 2>&1 &
spid=$!
trap 'kill $spid' EXIT
wait_ready 8391
for run in $(seq "$RUNS"); do
  for c in 8 32; do
    echo "== run $run c=$c"
    pgbench -n -f "$work/update.sql" -c "$c" -j 2 -T "$SECS" "$PG/pgbench_perf_st" 2>/dev/null | grep -E '^tps'
    printf 'x\nperf-password-1\n' | "$load" --url http://127.0.0.1:8391 --mode refresh -c "$c" -d "${SECS}s" \
      --secret-stdin --password-stdin --client perf --username perf | tail -1
  done
done
grep VmRSS /proc/$spid/status
psql "$PG/baton_perf_st" -Atc "SELECT count(*), pg_total_relation_size('sessions'), pg_total_relation_size('refresh_tokens') FROM sessions"
