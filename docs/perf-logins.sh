#!/usr/bin/env bash
# Sign-ins: the password grant against the full authorization code flow
# (GET /oauth2/authorize, the login form posted, the 303's code exchanged
# at /oauth2/token with PKCE), on SQLite, at c=1 and c=4, RUNS (default 3)
# runs of SECS (default 10) seconds, the two modes alternated within each
# run against the same server. Each worker signs in as a user of its own
# (--users): the login throttle lets a user have only a few attempts in
# flight. Figures: docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}; SECS=${SECS:-10}; PORT=${PORT:-8195}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
. docs/perf-lib.sh
build
baton_env "sqlite:$work/perf.db" "$PORT"
add_users perf-{1..4}
"$bin" client add --id perf --public --grants password,refresh_token >/dev/null
"$bin" client add --id perfweb --public --trusted --grants authorization_code,refresh_token \
  --redirect-uri http://127.0.0.1/cb >/dev/null
"$bin" serve >"$work/serve.log" 2>&1 &
wait_ready "$PORT"
bench() { # bench MODE C
  printf 'perf-password-1\n' | "$load" --url "http://127.0.0.1:$PORT" --mode "$1" -c "$2" -d "${SECS}s" \
    --password-stdin --client "$([ "$1" = codeflow ] && echo perfweb || echo perf)" --username perf --users "$2" | tail -1
}
for run in $(seq "$RUNS"); do
  for c in 1 4; do
    if [ $((run % 2)) -eq 1 ]; then order="password codeflow"; else order="codeflow password"; fi
    for mode in $order; do echo "run=$run c=$c $mode $(bench "$mode" "$c")"; done
  done
done
