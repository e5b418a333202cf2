#!/usr/bin/env bash
# bench-pushes.sh — WeChat's pushes against two wxlogin instances sharing one
# throwaway Postgres: `wxlogin-load push` at PUSH_RATE distinct pushes a
# second for PUSH_DURATION, PUSH_RETRY of them delivered twice (half of those
# at the same moment to the other instance), safe mode. The load tool checks
# from the instances' own counters that every push was handled exactly once
# and prints the answer-time percentiles.
#
#   PUSH_RATE=2000 PUSH_DURATION=30s PUSH_RETRY=0.3 scripts/bench-pushes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  exec scripts/with-postgres.sh "$0" "$@"
fi
RATE=${PUSH_RATE:-2000}
DURATION=${PUSH_DURATION:-30s}
RETRY=${PUSH_RETRY:-0.3}
TOKEN=benchPushToken123
AES=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/" ./cmd/wxlogin ./cmd/wxlogin-load
for port in 18181 18182; do
  DATABASE_URL=$TEST_DATABASE_URL LISTEN_ADDR=127.0.0.1:$port BASE_URL=http://127.0.0.1:$port \
    DATA_DIR="$work/data$port" WECHAT_TOKEN=$TOKEN WECHAT_AES_KEY=$AES LOG_LEVEL=warn INSTANCE_ID=i$port \
    "$work/wxlogin" >"$work/log$port" 2>&1 &
  for _ in $(seq 100); do   # one at a time: the first one migrates
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.2
  done
done
set +e
"$work/wxlogin-load" push -url http://127.0.0.1:18181,http://127.0.0.1:18182 -token $TOKEN -aes-key $AES \
  -rate "$RATE" -d "$DURATION" -retry "$RETRY" -concurrent 0.5
status=$?
# The table itself: one row per distinct push (the UNIQUE key), whatever the deliveries.
psql "$TEST_DATABASE_URL" -Atc "SELECT 'rows ' || COUNT(*) || ', deliveries recorded ' || COALESCE(SUM(deliveries), 0) || ', pushes delivered more than once ' || COUNT(*) FILTER (WHERE deliveries > 1) FROM pushes"
exit $status
