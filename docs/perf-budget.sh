#!/usr/bin/env bash
# Where the CPU of a refresh goes, against pgbench's one-row UPDATE: each
# side runs a fixed number of operations at concurrency C, and the CPU time
# (user + system, from /proc) of every process taking part is divided by
# that number. CPU per operation, unlike throughput, barely moves when
# other work shares the machine, so the figures hold on a busy machine too.
# On a machine whose cores all three processes share, throughput ratios
# follow these sums: the refresh rate is at most pgbench's times
# pgbench's µs / baton's µs.
#   N=40000 C=8 RUNS=3 bash docs/perf-budget.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-40000}; C=${C:-8}; RUNS=${RUNS:-3}; PG=postgres://root@127.0.0.1:5432
work=$(mktemp -d)
. docs/perf-lib.sh
build
db=baton_perf_budget pgdb=pgbench_perf_budget port=8395
fresh_db "$db"
pgbench_db "$pgdb"
baton_env "$PG/$db?sslmode=disable" "$port"
for i in $(seq "$C"); do add_users "perf-$i"; done
"$bin" client add --id perf --public --grants password,refresh_token >/dev/null
"$bin" serve >"$work/serve.log" 2>&1 &
spid=$!
trap 'kill $spid 2>/dev/null' EXIT
wait_ready "$port" 100
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# run DBNAME CMD...: runs CMD, sampling the CPU of the backends of DBNAME
# (they may end with their connections, so the last sample is kept; those
# that were there before count from their CPU then), and prints
# "ticks of CMD and its children, ticks of the backends".
run() {
  local dbname=$1; shift
  declare -A seen=() base=()
  # backends that outlive one run (baton's pool) count from here
  for b in $(pgrep -f "postgres: [0-9]+/main: root $dbname " || true); do base[$b]=$(ticks "$b"); done
  ( "$@" >"$work/out" 2>&1; times >"$work/times" ) &
  local p=$!
  while kill -0 "$p" 2>/dev/null; do
    for b in $(pgrep -f "postgres: [0-9]+/main: root $dbname " || true); do
      local v; v=$(ticks "$b"); ((v > ${seen[$b]:-0})) && seen[$b]=$v
    done
    sleep 0.05
  done
  wait "$p" || true
  local t=0; for b in "${!seen[@]}"; do t=$((t + seen[$b] - ${base[$b]:-0})); done
  # times: the subshell's own line, then its children's ("0m1.250s 0m0.300s")
  local own; own=$(tail -1 "$work/times" | awk -v hz="$hz" '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } printf "%d", s * hz }')
  echo "$own $t"
}
us() { echo $(($1 * 1000000 / hz / N)); }
for r in $(seq "$RUNS"); do
  s0=$(ticks $spid)
  read -r b_own b_pg < <(run "$db" bash -c 'printf "x\nperf-password-1\n" | "$@" --url http://127.0.0.1:'$port' --mode refresh -c '$C' -n '$N' \
      --secret-stdin --password-stdin --client perf --username perf --users '$C' >'"$work"'/bench.json' _ "$load")
  s1=$(ticks $spid)
  rate=$(tail -1 "$work/bench.json" | sed -E 's/.*"rps":([0-9]+).*/\1/')
  read -r p_own p_pg < <(run "$pgdb" pgbench -n -f "$work/update.sql" -c "$C" -j 2 -t $((N / C)) "$PG/$pgdb")
  echo "run $r c=$C: refresh $rate/s, CPU per refresh: baton $(us $((s1 - s0))) µs, load tool $(us "$b_own") µs, Postgres $(us "$b_pg") µs" \
    "| pgbench $(sed -nE 's/^tps = ([0-9]+).*/\1/p' "$work/out") tps, CPU per UPDATE: pgbench $(us "$p_own") µs, Postgres $(us "$p_pg") µs"
done
