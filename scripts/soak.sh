#!/usr/bin/env bash
# soak.sh — a long login storm with faults in the middle (issue: operations and
# faults). Not part of `make test`: it runs for SOAK_DURATION (10 minutes).
#
#   make soak            # or: scripts/soak.sh
#
# Starts a throwaway Postgres, the standalone WeChat simulator and two wxlogin
# instances on one database, and drives them with cmd/wxlogin-load round-robin.
# At 1/3 of the run Postgres is restarted (pg_ctl restart -m fast); at 2/3
# instance 2 is SIGKILLed and started again at once, as a supervisor would.
# Every 30 s it samples both instances' resident memory and goroutines from
# /metrics. At the end it prints the load tool's report (failed logins by
# reason, exchanges per code from the simulator's counters) and the samples.
#
# Settings: SOAK_DURATION=10m SOAK_BROWSERS=50 SOAK_LATENCY=50ms SOAK_DUP=0.3
#           SOAK_KEEP=DIR (keep logs and JSON)
set -euo pipefail

cd "$(dirname "$0")/.."
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  exec scripts/with-postgres.sh "$0" "$@"
fi

DURATION=${SOAK_DURATION:-10m}
BROWSERS=${SOAK_BROWSERS:-50}
LATENCY=${SOAK_LATENCY:-50ms}
DUP=${SOAK_DUP:-0.3}

say() { printf 'soak: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
# shellcheck source=scripts/storm-lib.sh
. scripts/storm-lib.sh
for tool in go psql python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (install it and retry)"
done

work=${SOAK_KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/wxlogin-soak.XXXXXX")}
mkdir -p "$work/bin"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${SOAK_KEEP:-}" ] || rm -rf -- "$work"
}
trap cleanup EXIT

pgctl() {
  local cmd=("$PGTEST_PGCTL" -D "$PGTEST_DATADIR" "$@")
  if [ -n "${PGTEST_PGCTL_USER:-}" ]; then
    runuser -u "$PGTEST_PGCTL_USER" -- "${cmd[@]}"
  else
    "${cmd[@]}"
  fi
}

say "building wxlogin, wechat-sim and wxlogin-load"
go build -o "$work/bin/" ./cmd/wxlogin ./cmd/wechat-sim ./cmd/wxlogin-load
bin=$work/bin
APPID=wxsoak000000000001
SECRET=soaksecret00000000000000000000001
psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE soak" >/dev/null
DB=${TEST_DATABASE_URL%/postgres*}/soak?sslmode=disable

simport=$(free_port)
SIM=http://127.0.0.1:$simport
GOGC=400 WECHAT_APPID=$APPID WECHAT_SECRET=$SECRET "$bin/wechat-sim" -listen "127.0.0.1:$simport" >"$work/sim.log" 2>&1 &
pids+=($!)
wait_ready "$SIM/healthz"

declare -A port pid
start_instance() { # NAME
  local name=$1
  [ -n "${port[$name]:-}" ] || port[$name]=$(free_port)
  LISTEN_ADDR=127.0.0.1:${port[$name]} BASE_URL=http://127.0.0.1:${port[$name]} DATABASE_URL=$DB \
    WECHAT_APPID=$APPID WECHAT_SECRET=$SECRET WECHAT_OAUTH_URL=$SIM WECHAT_API_URL=$SIM \
    SESSION_KEYS=0101010101010101010101010101010101010101010101010101010101010101 \
    TOKEN_KEY=0202020202020202020202020202020202020202020202020202020202020202 \
    INSTANCE_ID=$name DATA_DIR=$work/data-$name \
    "$bin/wxlogin" serve >>"$work/$name.log" 2>&1 &
  pid[$name]=$!
  pids+=("${pid[$name]}")
  wait_ready "http://127.0.0.1:${port[$name]}/readyz"
}
start_instance wx1
start_instance wx2
urls=http://127.0.0.1:${port[wx1]},http://127.0.0.1:${port[wx2]}

sample() { # prints: seconds name rss_mib goroutines
  local t=$1 name v
  for name in wx1 wx2; do
    v=$(curl -fsS "http://127.0.0.1:${port[$name]}/metrics" 2>/dev/null |
      awk '/^process_resident_memory_bytes /{r=$2} /^go_goroutines /{g=$2} END{printf "%.1f %d", r/1048576, g}') || v="- -"
    echo "$t $name $v"
  done
}

total=$(secs "$DURATION")
say "soak: $DURATION, $BROWSERS browsers, latency $LATENCY, dup $DUP; Postgres restart at $((total / 3))s, wx2 killed at $((2 * total / 3))s"
"$bin/wxlogin-load" -url "$urls" -sim "$SIM" -c "$BROWSERS" -d "$DURATION" -latency "$LATENCY" -dup "$DUP" \
  -variant mix -json "$work/soak.json" -progress 10s >"$work/soak.txt" 2>"$work/soak.progress" &
load=$!
pids+=("$load")

start=$(date +%s)
: >"$work/samples.txt"
pg_done=0 kill_done=0
while kill -0 "$load" 2>/dev/null; do
  now=$(($(date +%s) - start))
  if [ $((now % 30)) -eq 0 ]; then sample "$now" >>"$work/samples.txt"; fi
  if [ "$pg_done" -eq 0 ] && [ "$now" -ge $((total / 3)) ]; then
    say "t=${now}s: restarting Postgres"
    pgctl -m fast -w -o "$PGTEST_PGOPTS" -l "$PGTEST_LOGFILE" restart >/dev/null
    pg_done=1
  fi
  if [ "$kill_done" -eq 0 ] && [ "$now" -ge $((2 * total / 3)) ]; then
    say "t=${now}s: SIGKILL wx2, starting it again"
    kill -9 "${pid[wx2]}"
    wait "${pid[wx2]}" 2>/dev/null || true
    start_instance wx2
    kill_done=1
  fi
  sleep 1
done
load_status=0
wait "$load" || load_status=$?
sample "$(($(date +%s) - start))" >>"$work/samples.txt"

echo "== wxlogin-load report =="
cat "$work/soak.txt"
echo
echo "== memory and goroutines (t seconds, instance, RSS MiB, goroutines) =="
cat "$work/samples.txt"
echo
echo "== code_exchanges by status =="
psql "$DB" -Atc "SELECT status, coalesce(error_kind,''), count(*) FROM code_exchanges GROUP BY 1,2 ORDER BY 1,2"
echo "== takeovers, pending rows left =="
psql "$DB" -Atc "SELECT sum(takeovers), count(*) FILTER (WHERE status='pending') FROM code_exchanges"
exit "$load_status"
