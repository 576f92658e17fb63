#!/usr/bin/env bash
# Reproduces the figures of docs/PERFORMANCE.md on this machine: baton on
# Postgres and on SQLite driven by `baton-bench`, pgbench with a one-row
# UPDATE per transaction at the same concurrency, and net/http baselines.
# Each measurement runs RUNS times (default 3) for SECS seconds (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SECS=${SECS:-10}
PG=${PG:-postgres://root@127.0.0.1:5432}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

. docs/perf-lib.sh
build
fresh_db baton_perf
pgbench_db pgbench_perf

serve() { # serve DATABASE_URL PORT
  baton_env "$1" "$2"
  # One user per flooding worker: the login throttle lets a user have only a few attempts in flight.
  add_users perf perf-{1..8}
  "$bin" client add --id perf --public --grants password,refresh_token >/dev/null
  printf 'perf-client-secret-0123456789\n' | "$bin" client add --id perfc --secret-stdin --grants client_credentials >/dev/null
  "$bin" serve >"$work/serve-$2.log" 2>&1 &
  wait_ready "$2"
}

bench() { # bench PORT MODE C [extra…]
  local port=$1 mode=$2 c=$3; shift 3
  printf 'perf-client-secret-0123456789\nperf-password-1\n' |
    "$load" --url "http://127.0.0.1:$port" --mode "$mode" -c "$c" -d "${SECS}s" \
      --secret-stdin --password-stdin --client "$( [ "$mode" = refresh ] || [ "$mode" = password ] && echo perf || echo perfc)" \
      --username perf "$@"
}

serve "$PG/baton_perf?sslmode=disable" 8091
serve "sqlite:$work/perf.db" 8092

for run in $(seq "$RUNS"); do
  for c in 8 32; do
    echo "== run $run c=$c"
    pgbench -n -f "$work/update.sql" -c "$c" -j 2 -T "$SECS" "$PG/pgbench_perf" 2>/dev/null | grep -E '^tps'
    bench 8091 refresh "$c" | tail -1
  done
  bench 8091 jwks 32 --baseline | grep -E 'ratio|^\{'
  bench 8091 client_credentials 8 --baseline | grep -E 'ratio|^\{'
  bench 8091 introspect 8 | tail -1
  for c in 1 8; do bench 8092 refresh "$c" | tail -1; done
  echo "== refresh c=8 alone, then under a password-login flood (c=8, right password: every login hashes)"
  bench 8091 refresh 8 | tail -1
  SECS=$((SECS + 2)) bench 8091 password 8 --users 8 >"$work/flood.txt" &
  sleep 1
  bench 8091 refresh 8 | tail -1
  wait $!
  echo "flood: $(tail -1 "$work/flood.txt")"
done

echo "== sign-ins on SQLite: the password grant against the authorization code flow, alternated"
RUNS=$RUNS SECS=$SECS bash docs/perf-logins.sh

echo "== memory after 60 s of refreshes at c=32"
SECS=60 bench 8091 refresh 32 | tail -1
pid=$(pgrep -f "$bin serve" | head -1)
grep VmRSS "/proc/$(pgrep -f "$bin serve" -n)/status" || true
for p in $(pgrep -f "$bin serve"); do grep -H VmRSS "/proc/$p/status"; done
