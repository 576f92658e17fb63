#!/usr/bin/env bash
# Refresh at scale on Postgres (issue 15). Two databases, two baton
# instances of the same build: "small" holds only the bench's sessions,
# "big" also 1,000,000 sessions (500,000 live, 500,000 ended 45 days ago,
# past the 30-day audit retention) over 100,000 users, filled with
# generate_series. The bench refreshes sessions it logs in itself (the
# filled ones carry random nonces: no token exists for them, as none would
# without the KEK).
#  1. refresh at c=$C on small and big, alternated, $RUNS rounds: big/small;
#  2. `baton sessions purge` (oauth.Service.Purge, what serve runs every
#     minute) deletes the 500,000 ended sessions on big while refreshes run
#     against it; the refresh rate during the purge against big's alone;
#  3. bytes of sessions + refresh_tokens (with indexes) per live session,
#     before and after the purge (and after VACUUM); baton's RSS.
#   RUNS=3 SECS=10 C=8 bash docs/perf-scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}; SECS=${SECS:-10}; C=${C:-8}; N=${N:-1000000}; PG=postgres://root@127.0.0.1:5432
work=$(mktemp -d)
. docs/perf-lib.sh
build
declare -A port=([small]=8395 [big]=8396) pid=()
trap 'for p in "${pid[@]}"; do kill "$p" 2>/dev/null; done' EXIT
kek=$(head -c32 /dev/urandom | base64)
for db in small big; do
  fresh_db "baton_perf_$db"
  export BATON_DATABASE_URL="$PG/baton_perf_$db?sslmode=disable" BATON_KEK=$kek BATON_LOG_LEVEL=warn
  for i in $(seq "$C"); do add_users "perf-$i"; done
  "$bin" client add --id perf --public --grants password,refresh_token >/dev/null
done
t0=$(date +%s.%N)
fill_sessions baton_perf_big "$N"
echo "fill: $N sessions in $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5) s"
size() { # live sessions, bytes of sessions + refresh_tokens (indexes, TOAST)
  psql -At "$PG/baton_perf_big" -c "SELECT count(*) FILTER (WHERE ended_at IS NULL), count(*),
    pg_total_relation_size('sessions') + pg_total_relation_size('refresh_tokens') FROM sessions" |
    awk -F'|' '{printf "%d live / %d sessions, %.1f MB, %.0f bytes per live session\n", $1, $2, $3/1e6, $3/$1}'
}
echo "size after fill: $(size)"
for db in small big; do
  # serve's own minute-by-minute purge must not delete the ended sessions
  # before step 2: a retention longer than their age keeps them.
  BATON_DATABASE_URL="$PG/baton_perf_$db?sslmode=disable" BATON_KEK=$kek BATON_LOG_LEVEL=warn BATON_AUDIT_RETENTION=2160h \
    BATON_ADDR=127.0.0.1:${port[$db]} BATON_ISSUER=http://127.0.0.1:${port[$db]} \
    "$bin" serve >"$work/serve-$db.log" 2>&1 &
  pid[$db]=$!
done
for db in small big; do
  wait_ready "${port[$db]}" 600
done
bench() { # db -> "rate p99 errors"
  printf 'x\nperf-password-1\n' | "$load" --url "http://127.0.0.1:${port[$1]}" --mode refresh -c "$C" -d "${SECS}s" \
    --secret-stdin --password-stdin --client perf --username perf --users "$C" | tail -1 |
    sed -E 's/.*"rps":([0-9]+)[0-9.]*,.*"p99_ms":([0-9.]+),.*"errors":(\{.*\})\}$/\1 \2 \3/'
}
: >"$work/results"
for run in $(seq "$RUNS"); do
  order="small big"; ((run % 2 == 0)) && order="big small"
  for db in $order; do
    read -r rate p99 errs < <(bench "$db")
    echo "run $run $db: $rate/s p99 ${p99}ms errors $errs"
    echo "$db $rate" >>"$work/results"
  done
done
# The purge while refreshes go on: refresh runs back to back until it ends.
export BATON_DATABASE_URL="$PG/baton_perf_big?sslmode=disable" BATON_KEK=$kek BATON_LOG_LEVEL=info
t0=$(date +%s.%N)
"$bin" sessions purge >"$work/purge.out" 2>"$work/purge.log" &
ppid=$!
while kill -0 "$ppid" 2>/dev/null; do
  read -r rate p99 errs < <(bench big)
  echo "during purge: $rate/s p99 ${p99}ms errors $errs (purge running: $(kill -0 "$ppid" 2>/dev/null && echo yes || echo no at the end))"
  echo "purge $rate" >>"$work/results"
done
wait "$ppid"
echo "purge: $(cat "$work/purge.out") (wall $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5) s since start); log:"
grep -o 'msg=[^ ]*.*count=[0-9]*' "$work/purge.log" || cat "$work/purge.log"
read -r rate p99 errs < <(bench big)
echo "after purge big: $rate/s p99 ${p99}ms errors $errs"
echo "size after purge: $(size)"
psql -q "$PG/baton_perf_big" -c "VACUUM sessions" -c "VACUUM refresh_tokens"
echo "size after VACUUM: $(size)"
for db in small big; do echo "$db baton RSS: $(grep VmRSS /proc/${pid[$db]}/status)"; done
python3 - "$work/results" <<'EOF'
import sys, statistics as st, collections
by = collections.defaultdict(list)
for l in open(sys.argv[1]):
    k, v = l.split(); by[k].append(float(v))
s, b = st.median(by["small"]), st.median(by["big"])
print(f"medians: small {s:.0f}/s, big {b:.0f}/s, big/small {b/s:.2f} (per round {' '.join(f'{y/x:.2f}' for x, y in zip(by['small'], by['big']))})")
if by["purge"]:
    p = st.median(by["purge"])
    print(f"during purge: median {p:.0f}/s over {len(by['purge'])} runs, {p/b:.2f} of big alone")
EOF
