#!/usr/bin/env bash
# bench-commits.sh OUT "LABEL=REV ..." ["BROWSERS ..."] [DURATION]
#
# The experiments table of docs/BENCHMARKS.md (issue 12): builds wxlogin at each
# revision, then, for each browser count, runs the yardstick (bench/bareapp),
# every revision's wxlogin and the yardstick again, one after another, each on
# a fresh database and simulator in one throwaway Postgres with
# pg_stat_statements loaded, under the same load (cmd/wxlogin-load of the first
# revision: 50 ms WeChat latency, 30% double callbacks of BENCH_VARIANT, default
# mix). It prints one Markdown row per run: logins/s, failures, callback and
# duplicate-after-owner latencies, the CPU per login of the app and of
# Postgres (from /proc, warm-up included), statements per login as
# pg_stat_statements counts them (foreign-key checks included) and WAL records
# per login. Revisions are built in temporary worktrees; OUT keeps the
# binaries, logs and JSON. The yardstick is built from this script's own tree
# (OUT/yardstick/bin), so every revision is measured against the same one.
#
# BARE_STATE_BOUND=1 adds a `bare17` row per browser count, after the
# revisions: the yardstick with issue 17's per-state bound (bench/bareapp
# main.go: one code of a state in flight, none after a rejected one), the
# like-for-like reference for wxlogin on Android's variant B. The `bare` rows
# stay the unbounded yardstick.
#
#   scripts/bench-commits.sh /tmp/exp "before=bc19b36 after=HEAD" "200 20" 10s
#   BARE_STATE_BOUND=1 scripts/bench-commits.sh /tmp/exp "main=main" "20 200" 10s
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  PGTEST_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all" \
    exec "$root/scripts/with-postgres.sh" "$0" "$@"
fi
out=${1:?usage} revs=${2:?usage} brs=${3:-200 20} dur=${4:-10s}
variant=${BENCH_VARIANT:-mix}
mkdir -p $out
free_port(){ python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
APPID=wxbench000000000001; SECRET=benchsecret0000000000000000000001
for lr in $revs; do
  label=${lr%%=*} rev=${lr#*=}
  if [ ! -x $out/$label/bin/wxlogin ]; then
    rm -rf /tmp/exp-src-$label; git -C "$root" worktree add -q --detach /tmp/exp-src-$label "$rev"
    (cd /tmp/exp-src-$label && go build -o $out/$label/bin/ ./cmd/wxlogin ./cmd/wechat-sim ./cmd/wxlogin-load ./bench/bareapp)
    git -C "$root" worktree remove --force /tmp/exp-src-$label
  fi
done
(cd "$root" && go build -o $out/yardstick/bin/ ./bench/bareapp)
bound17=${BARE_STATE_BOUND:-0}
first=${revs%% *}; first=${first%%=*}
loadbin=$out/$first/bin
barebin=$out/yardstick/bin
ticks(){ local t=0; for x in "$@"; do v=$(awk '{print $14+$15+$16+$17}' /proc/$x/stat 2>/dev/null)||continue; t=$((t+v)); done; echo $t; }
pm=$(head -n1 $PGTEST_DATADIR/postmaster.pid)
n=0
one() { # label bin browsers kind (wx, bare, or bare17: the yardstick with the per-state bound)
  local label=$1 bin=$2 br=$3 kind=$4 sp p db apid simpid a0 a1 g0 g1 m0 m1
  n=$((n+1))
  sp=$(free_port); SIM=http://127.0.0.1:$sp
  GOGC=400 WECHAT_APPID=$APPID WECHAT_SECRET=$SECRET $loadbin/wechat-sim -listen 127.0.0.1:$sp >$out/sim.log 2>&1 & simpid=$!
  psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS e$n" -c "CREATE DATABASE e$n" >/dev/null
  db=${TEST_DATABASE_URL%/postgres*}/e$n?sslmode=disable
  psql "$db" -qc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
  p=$(free_port)
  if [ $kind = wx ]; then
    LISTEN_ADDR=127.0.0.1:$p BASE_URL=http://127.0.0.1:$p DATABASE_URL=$db WECHAT_APPID=$APPID WECHAT_SECRET=$SECRET WECHAT_OAUTH_URL=$SIM WECHAT_API_URL=$SIM \
     SESSION_KEYS=0101010101010101010101010101010101010101010101010101010101010101 TOKEN_KEY=0202020202020202020202020202020202020202020202020202020202020202 INSTANCE_ID=a DATA_DIR=$out/data$n \
     $bin/wxlogin serve >$out/app$n.log 2>&1 & apid=$!
  else
    local b=0; [ $kind = bare17 ] && b=1
    LISTEN_ADDR=127.0.0.1:$p BASE_URL=http://127.0.0.1:$p DATABASE_URL=$db WECHAT_APPID=$APPID WECHAT_SECRET=$SECRET WECHAT_OAUTH_URL=$SIM WECHAT_API_URL=$SIM WECHAT_SCOPE=snsapi_base BARE_STATE_BOUND=$b $bin/bareapp >$out/app$n.log 2>&1 & apid=$!
  fi
  for i in $(seq 200); do curl -sf http://127.0.0.1:$p/healthz >/dev/null && break; sleep 0.1; done
  curl -sf http://127.0.0.1:$sp/healthz >/dev/null || sleep 1
  psql "$db" -qc "SELECT pg_stat_statements_reset()" >/dev/null
  a0=$(ticks $apid); g0=$(ticks $pm $(pgrep -P $pm)); m0=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat)
  $loadbin/wxlogin-load -url http://127.0.0.1:$p -sim $SIM -c $br -d $dur -warmup 3s -latency 50ms -dup 0.3 -variant $variant -json $out/load$n.json >$out/load$n.txt 2>/dev/null || true
  a1=$(ticks $apid); g1=$(ticks $pm $(pgrep -P $pm)); m1=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat)
  local st
  st=$(psql "$db" -Atc "SELECT sum(calls) FILTER (WHERE query !~* '^(BEGIN|COMMIT|SELECT pg_stat)'), sum(wal_records) FROM pg_stat_statements" )
  kill $apid $simpid 2>/dev/null; wait $apid $simpid 2>/dev/null || true
  python3 - $out/load$n.json $a0 $a1 $g0 $g1 $m0 $m1 "$label" $br "$st" <<'PY'
import json,sys
r=json.load(open(sys.argv[1])); a0,a1,g0,g1,m0,m1=map(float,sys.argv[2:8]); label,br,st=sys.argv[8],sys.argv[9],sys.argv[10]
l=r["logins"]; n=max(1,l["ok"]+l["failed"]+l["warmup_logins"])
calls,wal=(st.split("|")+["0","0"])[:2]
d=r["duplicate_after_owner_ms"]["same_instance"]
print("| %s | %s | %.0f | %d | %s / %s | %s | %.2f | %.2f | %.2f | %.1f | %.1f | %.3f |" % (label, br, l["per_second"], l["failed"], r["callback_ms"].get("p50"), r["callback_ms"].get("p99"), d.get("p99"),
  10*(a1-a0)/n, 10*(g1-g0)/n, 10*(a1-a0+g1-g0)/n, float(calls or 0)/n, float(wal or 0)/n, r["exchanges"].get("per_code",0)))
PY
}
echo "| build | browsers | logins/s | failed | callback p50 / p99 ms | dup-after-owner p99 ms | app CPU ms/login | Postgres CPU ms/login | total | statements/login | WAL records/login | exchanges/code |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for br in $brs; do
  one bare $barebin $br bare
  for lr in $revs; do one ${lr%%=*} $out/${lr%%=*}/bin $br wx; done
  [ "$bound17" != 1 ] || one bare17 $barebin $br bare17
  one bare $barebin $br bare
done
