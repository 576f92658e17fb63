#!/usr/bin/env bash
# Refresh on Postgres, two builds under the same conditions: each round
# runs, at each concurrency, the OLD build, the NEW build and pgbench's
# one-row UPDATE back to back (the order of OLD and NEW alternates from
# round to round), so that a busy machine weighs on all three alike. The
# figure that counts on a shared machine is the same-run ratio new/old.
#   OLD=main NEW=HEAD RUNS=3 SECS=9 CONC="8 32" bash docs/perf-compare.sh
# Prints one line per measurement and the medians at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${OLD:-main}; NEW=${NEW:-HEAD}; RUNS=${RUNS:-3}; SECS=${SECS:-9}; CONC=${CONC:-8 32}
PG=postgres://root@127.0.0.1:5432
work=$(mktemp -d)
go build -o "$work/baton-bench" ./cmd/baton-bench # the load tool of this tree drives both builds
maxc=0; for c in $CONC; do ((c > maxc)) && maxc=$c; done
declare -A ref=([old]=$OLD [new]=$NEW) port=([old]=8393 [new]=8394) pid=()
. docs/perf-lib.sh
pgbench_db pgbench_perf_cmp
trap 'for p in "${pid[@]}"; do kill "$p" 2>/dev/null; done' EXIT
for v in old new; do
  mkdir "$work/src-$v"
  git archive "${ref[$v]}" | tar -x -C "$work/src-$v"
  (cd "$work/src-$v" && go build -o "$work/baton-$v" ./cmd/baton)
  echo "$v = ${ref[$v]} ($(git rev-parse --short "${ref[$v]}"))"
  fresh_db "baton_perf_cmp_$v"
  (
    export BATON_DATABASE_URL="$PG/baton_perf_cmp_$v?sslmode=disable" BATON_ADDR=127.0.0.1:${port[$v]}
    export BATON_ISSUER=http://127.0.0.1:${port[$v]} BATON_KEK=$(head -c32 /dev/urandom | base64) BATON_LOG_LEVEL=warn
    for i in $(seq "$maxc"); do
      printf 'perf-password-1\n' | "$work/baton-$v" user add --username "perf-$i" --password-stdin >/dev/null
    done
    "$work/baton-$v" client add --id perf --public --grants password,refresh_token >/dev/null
    exec "$work/baton-$v" serve >"$work/serve-$v.log" 2>&1
  ) &
  pid[$v]=$!
done
for v in old new; do
  wait_ready "${port[$v]}" 600
done
bench() { # build concurrency -> "rate p99"
  printf 'x\nperf-password-1\n' | "$work/baton-bench" --url "http://127.0.0.1:${port[$1]}" --mode refresh \
    -c "$2" -d "${SECS}s" --secret-stdin --password-stdin --client perf --username perf --users "$2" | tail -1 |
    sed -E 's/.*"rps":([0-9]+)[0-9.]*,.*"p99_ms":([0-9.]+),.*"errors":(\{.*\})\}$/\1 \2 \3/'
}
: >"$work/results"
for run in $(seq "$RUNS"); do
  order="old new"; ((run % 2 == 0)) && order="new old"
  for c in $CONC; do
    for v in $order; do
      read -r rate p99 errs < <(bench "$v" "$c")
      echo "run $run c=$c $v: $rate/s p99 ${p99}ms errors $errs"
      echo "$c $v $rate $p99" >>"$work/results"
    done
    tps=$(pgbench -n -f "$work/update.sql" -c "$c" -j 2 -T "$SECS" "$PG/pgbench_perf_cmp" 2>/dev/null | sed -nE 's/^tps = ([0-9]+).*/\1/p')
    echo "run $run c=$c pgbench: $tps tps"
    echo "$c pgbench $tps 0" >>"$work/results"
  done
done
for v in old new; do echo "$v RSS: $(grep VmRSS /proc/${pid[$v]}/status)"; done
python3 - "$work/results" <<'EOF'
import sys, statistics as st, collections
rows = [l.split() for l in open(sys.argv[1])]
by = collections.defaultdict(list)
for c, v, rate, p99 in rows: by[(int(c), v)].append((float(rate), float(p99)))
for c in sorted({k[0] for k in by}):
    old, new, pg = (by[(c, v)] for v in ("old", "new", "pgbench"))
    runs = [n[0] / o[0] for o, n in zip(old, new)]
    print(f"c={c}: old {st.median(r for r, _ in old):.0f}/s (p99 {st.median(p for _, p in old):.1f} ms), "
          f"new {st.median(r for r, _ in new):.0f}/s (p99 {st.median(p for _, p in new):.1f} ms), "
          f"pgbench {st.median(r for r, _ in pg):.0f} tps; new/old per run {' '.join(f'{r:.2f}' for r in runs)} "
          f"median {st.median(runs):.2f}; old/pgbench {st.median(o[0]/p[0] for o, p in zip(old, pg)):.2f}, "
          f"new/pgbench {st.median(n[0]/p[0] for n, p in zip(new, pg)):.2f}")
EOF
