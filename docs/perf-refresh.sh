#!/usr/bin/env bash
# The refresh-vs-pgbench part of docs/perf.sh, alone.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}; SECS=${SECS:-8}; PG=postgres://root@127.0.0.1:5432
work=$(mktemp -d)
go build -o "$work/baton" ./cmd/baton
go build -o "$work/baton-bench" ./cmd/baton-bench
bin="$work/baton" load="$work/baton-bench"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS baton_perf_st" -c "CREATE DATABASE baton_perf_st" \
  -c "DROP DATABASE IF EXISTS pgbench_perf_st" -c "CREATE DATABASE pgbench_perf_st" 2>/dev/null
pgbench -q -i -s 1 "$PG/pgbench_perf_st" >/dev/null 2>&1
printf '\\set aid random(1, 100000)\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n' > "$work/update.sql"
export BATON_DATABASE_URL="$PG/baton_perf_st?sslmode=disable" BATON_ADDR=127.0.0.1:8391 BATON_ISSUER=http://127.0.0.1:8391
export BATON_KEK=$(head -c32 /dev/urandom | base64) BATON_LOG_LEVEL=warn
printf 'perf-password-1\n' | "$bin" user add --username perf --password-stdin >/dev/null
"$bin" client add --id perf --public --grants password,refresh_token >/dev/null
"$bin" serve >"$work/serve.log" 2>&1 &
spid=$!
trap 'kill $spid' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:8391/readyz" >/dev/null && break; sleep 0.1; done
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
