#!/usr/bin/env bash
# SQLite synchronous=NORMAL (the default) against FULL: refresh throughput at
# c=1 and c=8, RUNS (default 3) alternated runs of SECS (default 10) seconds,
# two servers on their own database files. Figures: docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}; SECS=${SECS:-10}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/baton" ./cmd/baton
go build -o "$work/baton-bench" ./cmd/baton-bench
bin="$work/baton" load="$work/baton-bench"
serve() { # serve DATABASE_URL PORT
  export BATON_DATABASE_URL=$1 BATON_ADDR=127.0.0.1:$2 BATON_ISSUER=http://127.0.0.1:$2
  export BATON_KEK=$(head -c32 /dev/urandom | base64) BATON_LOG_LEVEL=warn
  printf 'perf-password-1\n' | "$bin" user add --username perf --password-stdin >/dev/null
  "$bin" client add --id perf --public --grants password,refresh_token >/dev/null
  "$bin" serve >"$work/serve-$2.log" 2>&1 &
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$2/readyz" >/dev/null && return; sleep 0.1; done
  echo "baton did not start" >&2; exit 1
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
