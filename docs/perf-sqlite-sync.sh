#!/usr/bin/env bash
# SQLite synchronous=NORMAL (the default) against FULL: refresh throughput at
# c=1 and c=8, RUNS (default 3) alternated runs of SECS (default 10) seconds,
# two servers on their own database files. Figures: docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}; SECS=${SECS:-10}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
. docs/perf-lib.sh
build
serve() { # serve DATABASE_URL PORT
  baton_env "$1" "$2"
  add_users perf
  "$bin" client add --id perf --public --grants password,refresh_token >/dev/null
  "$bin" serve >"$work/serve-$2.log" 2>&1 &
  wait_ready "$2"
}
bench() { printf 'perf-password-1\n' | "$load" --url "http://127.0.0.1:$1" --mode refresh -c "$2" -d "${SECS}s" --password-stdin --client perf --username perf | tail -1; }
serve "sqlite:$work/normal.db?synchronous=normal" 8193
serve "sqlite:$work/full.db?synchronous=full" 8194
for run in $(seq "$RUNS"); do
  for c in 1 8; do
    if [ $((run % 2)) -eq 1 ]; then order="8193 8194"; else order="8194 8193"; fi
    for p in $order; do
      name=$([ "$p" = 8193 ] && echo NORMAL || echo FULL)
      echo "run=$run c=$c $name $(bench "$p" "$c")"
    done
  done
done
