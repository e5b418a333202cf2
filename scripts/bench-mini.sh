#!/usr/bin/env bash
# bench-mini.sh — the mini program storm of docs/BENCHMARKS.md (issue 15): the
# standalone simulator, two wxlogin instances on one throwaway Postgres, and
# wxlogin-load -mode mini with 30% of codes sent twice to both instances.
# MB_BROWSERS="20 100" (one run each), MB_DURATION=30s, MB_KEEP=DIR keeps logs and JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${TEST_DATABASE_URL:-}" ]; then exec scripts/with-postgres.sh "$0" "$@"; fi
work=${MB_KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/wxlogin-minibench.XXXXXX")}
die() { echo "minibench: $*" >&2; exit 1; }
. scripts/storm-lib.sh
mkdir -p $work/bin
go build -o $work/bin/ ./cmd/wxlogin ./cmd/wechat-sim ./cmd/wxlogin-load
bin=$work/bin
APPID=wxbench000000000001
SECRET=benchsecret0000000000000000000001
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${MB_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
port=$(free_port); SIM=http://127.0.0.1:$port
GOGC=400 WECHAT_APPID=$APPID WECHAT_SECRET=$SECRET $bin/wechat-sim -listen 127.0.0.1:$port >$work/sim.log 2>&1 &
pids+=($!)
wait_ready $SIM/healthz
psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS minibench" -c "CREATE DATABASE minibench" >/dev/null
db=${TEST_DATABASE_URL%/postgres*}/minibench?sslmode=disable
urls=()
for i in 1 2; do
  p=$(free_port)
  LISTEN_ADDR=127.0.0.1:$p BASE_URL=http://127.0.0.1:$p DATABASE_URL=$db \
    WECHAT_APPID=$APPID WECHAT_SECRET=$SECRET WECHAT_OAUTH_URL=$SIM WECHAT_API_URL=$SIM \
    WECHAT_MINI_APPID=wx5im0000000000101 WECHAT_MINI_SECRET=wechatsim0dev0secret000000000002 \
    SESSION_KEYS=0101010101010101010101010101010101010101010101010101010101010101 \
    TOKEN_KEY=0202020202020202020202020202020202020202020202020202020202020202 INSTANCE_ID=mini$i \
    DATA_DIR=$work/data$i $bin/wxlogin serve >$work/wx$i.log 2>&1 &
  pids+=($!)
  wait_ready http://127.0.0.1:$p/readyz
  urls+=(http://127.0.0.1:$p)
done
url_list=$(IFS=,; echo "${urls[*]}")
for c in ${MB_BROWSERS:-20 200}; do
  $bin/wxlogin-load -mode mini -url "$url_list" -sim $SIM -c $c -d ${MB_DURATION:-30s} -warmup 5s -latency 50ms -dup 0.3 \
    -abort-after 20ms -progress 0 -json $work/mini-$c.json | tee $work/mini-$c.txt || true
done
