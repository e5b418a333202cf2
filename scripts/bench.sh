#!/usr/bin/env bash
# bench.sh — what `make bench` runs: a reproducible login storm on this machine.
#
# Starts a throwaway Postgres (scripts/with-postgres.sh), the WeChat simulator
# (cmd/wechat-sim) and wxlogin built production-shaped (WECHAT_APPID pointing
# at the standalone simulator, fixed test keys, a fresh database per run), then
# drives it with cmd/wxlogin-load: first one instance, then two instances
# sharing the database. A CPU profile of an instance is taken over pprof's
# loopback listener (PPROF_ADDR) during each run, and the CPU time of every
# process (wxlogin, Postgres, simulator, load tool, everything else on the
# machine) is sampled from /proc. The results are written to docs/BENCHMARKS.md;
# its "Notes" section (after the NOTES marker) is kept as it is.
#
# Settings (environment; defaults are the issue's targets):
#   BENCH_BROWSERS=200   concurrent virtual browsers
#   BENCH_LATENCY=50ms   simulator latency per WeChat call
#   BENCH_DUP=0.3        fraction of logins with Android's double callback (A/B mixed)
#   BENCH_DURATION=30s   measured time per run (after BENCH_WARMUP=5s)
#   BENCH_SCOPE=         snsapi_base or snsapi_userinfo (empty: wxlogin's default, snsapi_userinfo)
#   BENCH_RUNS="1:200 2:200 1:20 2:20 4p:200"   runs as INSTANCES:BROWSERS (":BROWSERS" defaults to
#                        BENCH_BROWSERS); the 20-browser runs show the latencies on a machine that is not
#                        saturated; a "p" after INSTANCES connects them through the PgBouncer (transaction
#                        mode) that scripts/with-postgres.sh starts (TEST_PGBOUNCER_URL), no
#                        DATABASE_LISTEN_URL: there the figure is about correctness under contention
#   BENCH_GO=1           also run the Go micro-benchmarks (go test -bench, -benchmem)
#   BENCH_BARE=1         after every direct single-instance run, run the yardstick (bench/bareapp: bare
#                        net/http + pgx, issue 12) with the same load settings on a fresh simulator and
#                        database, and write the ratios into docs/BENCHMARKS.md between the BARE markers
#   BENCH_BARE17="20 200"  at these browser counts, after the yardstick, also run it with issue 17's per-state
#                        bound (BARE_STATE_BOUND=1: one code of a state in flight, none after a rejected one) and
#                        add a row of its own, labelled so, to the same table; the unbounded yardstick stays the
#                        headline ratio. Empty: none (each adds one run of BENCH_WARMUP + BENCH_DURATION)
#   BENCH_OUT=docs/BENCHMARKS.md   ("-" for stdout only)
#   BENCH_KEEP=          a directory to keep logs, profiles and JSON in (default: a temp dir, removed)
#   BENCH_COMMIT=        what to name as the commit measured (default: git rev-parse HEAD)
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  exec scripts/with-postgres.sh "$0" "$@"
fi

BROWSERS=${BENCH_BROWSERS:-200}
LATENCY=${BENCH_LATENCY:-50ms}
DUP=${BENCH_DUP:-0.3}
DURATION=${BENCH_DURATION:-30s}
WARMUP=${BENCH_WARMUP:-5s}
SCOPE=${BENCH_SCOPE:-}
RUNS=${BENCH_RUNS:-1:$BROWSERS 2:$BROWSERS 1:20 2:20 4p:$BROWSERS}
GOBENCH=${BENCH_GO:-1}
BARE=${BENCH_BARE:-1}
BARE17=${BENCH_BARE17-20 200}
OUT=${BENCH_OUT:-docs/BENCHMARKS.md}

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
# shellcheck source=scripts/storm-lib.sh
. scripts/storm-lib.sh

for tool in go psql python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (install it and retry)"
done

if [ -n "${BENCH_KEEP:-}" ]; then
  work=$BENCH_KEEP
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/wxlogin-bench.XXXXXX")
fi
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${BENCH_KEEP:-}" ] || rm -rf -- "$work"
}
trap cleanup EXIT

# cpu_ticks PID...: user+system clock ticks of the processes; a Postgres
# postmaster also brings its exited children's (cutime+cstime).
cpu_ticks() {
  local t=0 pid v
  for pid in "$@"; do
    v=$(awk '{print $14+$15+$16+$17}' "/proc/$pid/stat" 2>/dev/null) || continue
    t=$((t + v))
  done
  echo "$t"
}
machine_busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
pg_pids() {
  local pm
  pm=$(head -n 1 "$PGTEST_DATADIR/postmaster.pid")
  echo "$pm" $(pgrep -P "$pm" || true)
}

say "building wxlogin, wechat-sim and wxlogin-load"
mkdir -p "$work/bin"
go build -o "$work/bin/" ./cmd/wxlogin ./cmd/wechat-sim ./cmd/wxlogin-load ./bench/bareapp
bin=$work/bin

APPID=wxbench000000000001
SECRET=benchsecret0000000000000000000001
SESSION_KEYS=0101010101010101010101010101010101010101010101010101010101010101
TOKEN_KEY=0202020202020202020202020202020202020202020202020202020202020202

# start_sim NAME: a fresh simulator per run (its code and token tables are
# bounded by scanning them, which slows down once they are full); sets
# sim_pid and SIM.
start_sim() {
  local port
  port=$(free_port)
  SIM=http://127.0.0.1:$port
  # The simulator is harness, like the load tool (which sets its own): it
  # collects garbage less often so that more CPU is left to wxlogin.
  GOGC=${GOGC:-400} WECHAT_APPID=$APPID WECHAT_SECRET=$SECRET "$bin/wechat-sim" -listen "127.0.0.1:$port" >"$work/$1.log" 2>&1 &
  sim_pid=$!
  pids+=("$sim_pid")
  wait_ready "$SIM/healthz"
}

# start_instance NAME DB_URL: starts wxlogin; sets inst_pid, inst_url, inst_pprof.
start_instance() {
  local name=$1 db=$2 port pport
  port=$(free_port)
  pport=$(free_port)
  LISTEN_ADDR=127.0.0.1:$port BASE_URL=http://127.0.0.1:$port DATABASE_URL=$db \
    WECHAT_APPID=$APPID WECHAT_SECRET=$SECRET WECHAT_OAUTH_URL=$SIM WECHAT_API_URL=$SIM \
    SESSION_KEYS=$SESSION_KEYS TOKEN_KEY=$TOKEN_KEY INSTANCE_ID=$name PPROF_ADDR=127.0.0.1:$pport \
    DATA_DIR=$work/data-$name \
    "$bin/wxlogin" serve >"$work/$name.log" 2>&1 &
  inst_pid=$!
  pids+=("$inst_pid")
  inst_url=http://127.0.0.1:$port
  inst_pprof=http://127.0.0.1:$pport
  wait_ready "$inst_url/readyz"
}

# start_bare NAME DB_URL [BOUND]: starts the yardstick (bench/bareapp) with
# wxlogin's pool size, with issue 17's per-state bound if BOUND is 1; sets
# bare_pid and bare_url. Its scope is wxlogin's: BENCH_SCOPE,
# else what wxlogin's default (auto) picks for a browser it has never seen,
# which every virtual browser is: snsapi_base, one WeChat call per login.
start_bare() {
  local port
  port=$(free_port)
  LISTEN_ADDR=127.0.0.1:$port BASE_URL=http://127.0.0.1:$port DATABASE_URL=$2 \
    WECHAT_APPID=$APPID WECHAT_SECRET=$SECRET WECHAT_OAUTH_URL=$SIM WECHAT_API_URL=$SIM \
    WECHAT_SCOPE=${SCOPE:-snsapi_base} BARE_STATE_BOUND=${3:-0} "$bin/bareapp" >"$work/$1.log" 2>&1 &
  bare_pid=$!
  pids+=("$bare_pid")
  bare_url=http://127.0.0.1:$port
  wait_ready "$bare_url/healthz"
}

# bare_run K LABEL BROWSERS [BOUND]: the yardstick under the same load as
# run K (with issue 17's per-state bound if BOUND is 1, as its own clearly
# labelled row); appends a row comparing it with run K to $work/bare-rows.md.
bare_run() {
  local k=$1 label=$2 browsers=$3 bound=${4:-0} sfx=b what="yardstick: bare net/http + pgx" db dburl t0 t1 b0 b1 pg0 pg1 st=0
  if [ "$bound" = 1 ]; then
    sfx=b17 what="yardstick with issue 17's per-state bound (BARE_STATE_BOUND=1)"
    label="$label, against the yardstick with issue 17's per-state bound"
  fi
  db=bench_${k}_$sfx
  start_sim "sim${k}$sfx"
  psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  dburl=${TEST_DATABASE_URL%/postgres*}/$db?sslmode=disable
  start_bare "bare$k$sfx" "$dburl" "$bound"
  say "run $k, $what ($bare_url), same settings"
  t0=$(date +%s.%N)
  b0=$(cpu_ticks "$bare_pid")
  pg0=$(cpu_ticks $(pg_pids))
  "$bin/wxlogin-load" -url "$bare_url" -sim "$SIM" -c "$browsers" -d "$DURATION" -warmup "$WARMUP" \
    -latency "$LATENCY" -dup "$DUP" -variant mix ${SCOPE:+-scope "$SCOPE"} \
    -json "$work/run${k}$sfx.json" >"$work/run${k}$sfx.txt" 2>"$work/run${k}$sfx.progress" || st=$?
  t1=$(date +%s.%N)
  b1=$(cpu_ticks "$bare_pid")
  pg1=$(cpu_ticks $(pg_pids))
  cat "$work/run${k}$sfx.txt" >&2
  [ "$st" -eq 0 ] || { say "run $k, $what: correctness targets missed (exit $st)"; status=1; }
  python3 - "$label" "$work/run$k.json" "$work/run$k.cpu.json" "$work/run${k}$sfx.json" \
    "$(getconf CLK_TCK)" "$b0" "$b1" "$pg0" "$pg1" "$bound" >>"$work/bare-rows.md" <<'PY'
import json, sys
label, wx, wxcpu, bare = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))
hz, b0, b1, pg0, pg1 = (float(x) for x in sys.argv[5:10])
ratio = "%.2f×" if sys.argv[10] == "1" else "**%.2f×**"  # the unbounded yardstick is the headline
def logins(r):  # every login the CPU was spent on, warm-up included
    l = r["logins"]
    return max(1, l["ok"] + l["failed"] + l["warmup_logins"])
def p99(r, *path):
    for k in path:
        r = r[k]
    return r["p99"] if "p99" in r else r.get("p99_ms", 0)
wl, bl = wx["logins"]["per_second"], bare["logins"]["per_second"]
wx_ms = 1000 * (wxcpu["wxlogin"] + wxcpu["postgres"]) / logins(wx)
bare_ms = 1000 * ((b1 - b0) + (pg1 - pg0)) / hz / logins(bare)
print(("| %s | %.0f | %.0f | " + ratio + " | %.0f / %.0f | %.1f / %.1f | %d / %d | %.3f / %.3f | %.2f / %.2f |") % (
    label, wl, bl, wl / bl if bl else 0,
    p99(wx, "callback_ms"), p99(bare, "callback_ms"),
    p99(wx, "duplicate_after_owner_ms", "same_instance"), p99(bare, "duplicate_after_owner_ms", "same_instance"),
    wx["logins"]["failed"], bare["logins"]["failed"],
    wx["exchanges"].get("per_code", 0), bare["exchanges"].get("per_code", 0), wx_ms, bare_ms))
PY
  for p in "$bare_pid" "$sim_pid"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}

dur_s=$(secs "$DURATION")
warm_s=$(secs "$WARMUP")
prof_s=$((dur_s > 8 ? dur_s - 4 : dur_s))

: >"$work/bare-rows.md"
run_args=()
report_runs=()
status=0
k=0
for spec in $RUNS; do
  k=$((k + 1))
  n=${spec%%:*}
  browsers=$BROWSERS
  [ "$spec" = "$n" ] || browsers=${spec#*:}
  pooled=0
  if [ "${n%p}" != "$n" ]; then
    pooled=1
    n=${n%p}
    [ -n "${TEST_PGBOUNCER_URL:-}" ] || die "run $spec needs PgBouncer: TEST_PGBOUNCER_URL is not set (scripts/with-postgres.sh could not start pgbouncer)"
  fi
  label="$n instance"
  [ "$n" -gt 1 ] && label="$n instances"
  [ "$pooled" -eq 0 ] || label="$label through PgBouncer"
  label="$label, $browsers browsers"
  db=bench_$k
  start_sim "sim$k"
  psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  dburl=${TEST_DATABASE_URL%/postgres*}/$db?sslmode=disable
  [ "$pooled" -eq 0 ] || dburl=${TEST_PGBOUNCER_URL%/postgres*}/$db?sslmode=disable
  urls=()
  inst_pids=()
  first_pprof=""
  for i in $(seq 1 "$n"); do
    start_instance "wx$k-$i" "$dburl"
    urls+=("$inst_url")
    inst_pids+=("$inst_pid")
    [ -n "$first_pprof" ] || first_pprof=$inst_pprof
  done
  url_list=$(IFS=,; echo "${urls[*]}")
  say "run $k: $label ($url_list), latency $LATENCY, dup $DUP, ${WARMUP} warm-up + $DURATION"

  t0=$(date +%s.%N)
  wx0=$(cpu_ticks "${inst_pids[@]}")
  pg0=$(cpu_ticks $(pg_pids))
  sim0=$(cpu_ticks "$sim_pid")
  m0=$(machine_busy_ticks)
  "$bin/wxlogin-load" -url "$url_list" -sim "$SIM" -c "$browsers" -d "$DURATION" -warmup "$WARMUP" \
    -latency "$LATENCY" -dup "$DUP" -variant mix ${SCOPE:+-scope "$SCOPE"} \
    -json "$work/run$k.json" >"$work/run$k.txt" 2>"$work/run$k.progress" &
  load_pid=$!
  ( sleep $((warm_s + 2)) && curl -fsS -o "$work/run$k.cpu.pprof" "$first_pprof/debug/pprof/profile?seconds=$prof_s" ) &
  prof_pid=$!
  load_status=0
  wait "$load_pid" || load_status=$?
  wait "$prof_pid" || say "CPU profile of run $k failed"
  t1=$(date +%s.%N)
  wx1=$(cpu_ticks "${inst_pids[@]}")
  pg1=$(cpu_ticks $(pg_pids))
  sim1=$(cpu_ticks "$sim_pid")
  m1=$(machine_busy_ticks)
  cat "$work/run$k.txt" >&2
  [ "$load_status" -eq 0 ] || { say "run $k: correctness targets missed (exit $load_status)"; status=1; }
  hz=$(getconf CLK_TCK)
  python3 - "$work/run$k.cpu.json" "$t0" "$t1" "$hz" "$wx0" "$wx1" "$pg0" "$pg1" "$sim0" "$sim1" "$m0" "$m1" "$(nproc)" <<'PY'
import json, sys
out, t0, t1, hz = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
v = [float(x) for x in sys.argv[5:13]]
cores = int(sys.argv[13])
d = lambda a, b: (b - a) / hz
json.dump({"wall_seconds": t1 - t0, "cores": cores, "wxlogin": d(v[0], v[1]), "postgres": d(v[2], v[3]),
           "simulator": d(v[4], v[5]), "machine_busy": d(v[6], v[7])}, open(out, "w"), indent=2)
PY
  if [ -s "$work/run$k.cpu.pprof" ]; then
    go tool pprof -top -nodecount=1000000 "$bin/wxlogin" "$work/run$k.cpu.pprof" >"$work/run$k.top.txt" 2>/dev/null || true
  fi
  report_runs+=(-run "$label=$work/run$k.json,$work/run$k.cpu.json,$work/run$k.top.txt")
  for p in "${inst_pids[@]}" "$sim_pid"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ "$BARE" = 1 ] && [ "$n" -eq 1 ] && [ "$pooled" -eq 0 ]; then
    bare_run "$k" "$label" "$browsers"
    case " $BARE17 " in *" $browsers "*) bare_run "$k" "$label" "$browsers" 1 ;; esac
  fi
done

gobench_args=()
if [ "$GOBENCH" = 1 ]; then
  say "Go micro-benchmarks (go test -bench . -benchmem)"
  pkgs=()
  for d in */; do
    if compgen -G "${d}*_bench_test.go" >/dev/null; then
      pkgs+=("./${d%/}/")
    fi
  done
  if [ "${#pkgs[@]}" -gt 0 ]; then
    go test -count=1 -run '^$' -bench . -benchmem -benchtime="${BENCH_GOTIME:-1s}" "${pkgs[@]}" | tee "$work/gobench.txt" >&2 || status=1
    gobench_args=(-gobench "$work/gobench.txt")
  fi
fi

pgv=$(psql "$TEST_DATABASE_URL" -Atc 'SHOW server_version' | awk '{print $1}')
cpu_model=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)
mem=$(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)
dest=$OUT
[ "$OUT" != "-" ] || dest=/dev/stdout
"$bin/wxlogin-load" report \
  -meta "CPU=$(nproc) cores, ${cpu_model:-unknown}" \
  -meta "Memory=$mem" \
  -meta "OS=$(uname -sr)" \
  -meta "Go=$(go env GOVERSION)" \
  -meta "PostgreSQL=$pgv (scripts/with-postgres.sh: fsync=off, synchronous_commit=off, shared_buffers=128MB)" \
  -meta "Commit=${BENCH_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')}" \
  -meta "Date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
  -command "make bench   # = scripts/bench.sh; BENCH_* variables in its header" \
  "${report_runs[@]}" "${gobench_args[@]}" -keep "$OUT" -o "$dest"
if [ -s "$work/bare-rows.md" ] && [ "$OUT" != "-" ]; then
  # The yardstick's table lives in the kept notes, between two markers.
  python3 - "$OUT" "$work/bare-rows.md" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
    "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$LATENCY" "$DUP" "$WARMUP" "$DURATION" "${SCOPE:-snsapi_base}" <<'PY'
import sys
out, rows, when, commit, lat, dup, warm, dur, scope = sys.argv[1:10]
begin, end = "<!-- BARE:BEGIN (scripts/bench.sh writes this table) -->", "<!-- BARE:END -->"
table = (f"{begin}\n`make bench` on {when}, commit {commit}: scope {scope}, simulator latency {lat}, {dup} double callbacks "
         f"(A/B mixed), {warm} warm-up + {dur}; each yardstick run right after wxlogin's, on a fresh simulator and database. "
         "The ratio is against the yardstick as it is (the headline); rows \"against the yardstick with issue 17's per-state bound\" "
         "compare the same wxlogin run with the yardstick run with BARE_STATE_BOUND=1 (one code of a state in flight, "
         "none after a rejected one, as wxlogin).\n\n"
         "| run | wxlogin logins/s | bare logins/s | ratio | callback p99 ms (wxlogin / bare) "
         "| duplicate after owner p99 ms | failed logins | exchanges per code | CPU ms per login, app + Postgres |\n"
         "|---|---|---|---|---|---|---|---|---|\n" + open(rows).read() + end)
doc = open(out).read()
if begin in doc and end in doc:
    doc = doc[:doc.index(begin)] + table + doc[doc.index(end) + len(end):]
else:
    doc = doc.rstrip("\n") + "\n\n" + table + "\n"
open(out, "w").write(doc)
PY
fi
[ "$OUT" = "-" ] || say "wrote $OUT"
exit "$status"
