#!/usr/bin/env bash
# with-postgres.sh CMD [ARGS...]
#
# Starts a throwaway PostgreSQL cluster, runs CMD with the variables below exported, then
# stops the cluster and deletes it — on success, on failure and on INT/TERM/HUP. The exit
# status is CMD's (or 128+N when the script itself is killed by signal N).
#
#   scripts/with-postgres.sh go test -count=1 ./...
#   scripts/with-postgres.sh bash -c 'psql "$TEST_DATABASE_URL" -c "select 1"'
#
# Exported to CMD:
#   TEST_DATABASE_URL  postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
#                      superuser, trust auth (no password); tests should CREATE DATABASE
#                      their own databases rather than share `postgres`.
#   PGTEST_DATADIR     the cluster's data directory.
#   PGTEST_PGCTL       full path of the pg_ctl binary that belongs to the cluster.
#   PGTEST_PGCTL_USER  user pg_ctl must run as: `postgres` when this script runs as root
#                      (PostgreSQL refuses to run as root), empty otherwise.
#   PGTEST_PGOPTS      the exact `-o` option string the server was started with.
#   PGTEST_LOGFILE     the server log (pass it with -l when restarting; see below).
#   PGTEST_PORT        the TCP port (also inside TEST_DATABASE_URL).
#   TEST_PGBOUNCER_URL the same cluster through a PgBouncer in TRANSACTION mode (any database
#                      name passes through), started on a free port and stopped with the
#                      cluster; Debian's `pgbouncer` package is installed when missing (as
#                      root). Unset if it could not be had: tests needing it fail, never skip.
#                      PgBouncer stays up while fault tests stop and start the cluster.
#   PGTEST_PGBOUNCER_PORT  its port.
#
# Fault tests can stop and restart the SAME cluster (same data, same port):
#
#   stop:  [runuser -u "$PGTEST_PGCTL_USER" --] "$PGTEST_PGCTL" -D "$PGTEST_DATADIR" -m fast -w stop
#   start: [runuser -u "$PGTEST_PGCTL_USER" --] "$PGTEST_PGCTL" -D "$PGTEST_DATADIR" \
#              -o "$PGTEST_PGOPTS" -l "$PGTEST_LOGFILE" -w -t 60 start
#
# (the `runuser` prefix only when PGTEST_PGCTL_USER is non-empty). Always pass -l on start:
# without it the server inherits pg_ctl's stdout/stderr, and a Go exec.Cmd that captures
# output would then wait for the server to exit. `-m immediate` simulates a crash.
#
# Finding PostgreSQL: initdb/pg_ctl on PATH, else the highest /usr/lib/postgresql/*/bin.
# If neither and running as root, `apt-get install -y postgresql` and look again.
# Server settings favour speed over durability (fsync=off etc.): for tests only.
# PGTEST_START_TIMEOUT (seconds, default 60) bounds the wait for the server to be ready.
# PGTEST_EXTRA_OPTS adds server options (make bench: -c shared_preload_libraries=pg_stat_statements).
#
# Works as root (initdb/pg_ctl run as the `postgres` user via runuser or su) and as an
# ordinary user who has PostgreSQL installed.
set -euo pipefail

# The whole script is one { ... } block, so bash parses it completely before running it:
# editing this file while a (long) test run is using it cannot break that run.
{

say() { printf 'with-postgres: %s\n' "$*" >&2; }
# shellcheck source=scripts/pgbouncer.sh
. "$(dirname "${BASH_SOURCE[0]}")/pgbouncer.sh"
die() { say "$*"; exit 1; }

[ $# -ge 1 ] || die "usage: $0 CMD [ARGS...]"

START_TIMEOUT=${PGTEST_START_TIMEOUT:-60} # seconds pg_ctl -w waits for readiness

# ---------------------------------------------------------------------------------------
# Locate initdb and pg_ctl (from the same installation).
find_pg_bindir() {
  local d
  if d=$(command -v pg_ctl 2>/dev/null) && d=$(readlink -f "$d") && [ -x "$(dirname "$d")/initdb" ]; then
    dirname "$d"
    return 0
  fi
  # Debian/Ubuntu keep the real binaries out of PATH; take the highest version that has
  # the server (a newer postgresql-client-NN alone has a bin/ without initdb).
  while IFS= read -r d; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      printf '%s\n' "$d"
      return 0
    fi
  done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -rV)
  return 1
}

is_root=0
[ "$(id -u)" -eq 0 ] && is_root=1

if ! bindir=$(find_pg_bindir); then
  if [ "$is_root" -eq 1 ] && command -v apt-get >/dev/null 2>&1; then
    say "initdb/pg_ctl not found; installing the 'postgresql' package with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y postgresql >&2
    bindir=$(find_pg_bindir) || die "installed 'postgresql' but still cannot find initdb and pg_ctl"
  else
    die "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin; install PostgreSQL (Debian/Ubuntu: apt-get install postgresql) or put its bin directory on PATH"
  fi
fi
INITDB=$bindir/initdb
PGCTL=$bindir/pg_ctl

# ---------------------------------------------------------------------------------------
# Who runs the server.
pg_user=""
if [ "$is_root" -eq 1 ]; then
  pg_user=postgres
  if ! id -u "$pg_user" >/dev/null 2>&1; then
    say "creating system user '$pg_user' to run the test cluster"
    useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin "$pg_user" >&2 ||
      die "no '$pg_user' user and could not create one"
  fi
fi

# as_pg CMD...: run CMD as the cluster's owner.
as_pg() {
  if [ -z "$pg_user" ]; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    runuser -u "$pg_user" -- "$@"
  else
    su -s /bin/bash "$pg_user" -c "$(printf '%q ' "$@")"
  fi
}

# ---------------------------------------------------------------------------------------
# Temp dir, owned by the server user. The socket lives in it, so keep the path short
# (Unix socket paths are limited to ~107 bytes), free of spaces (it goes into the -o
# string) and reachable by that user; else fall back to /tmp.
make_tmpdir() {
  local d
  d=$(mktemp -d "${TMPDIR:-/tmp}/pgtest.XXXXXX") || return 1
  if [ ${#d} -gt 80 ] || [[ "$d" == *[[:space:]]* ]] || { [ -n "$pg_user" ] && ! chown "$pg_user" "$d"; } ||
    { [ -n "$pg_user" ] && ! as_pg test -w "$d" 2>/dev/null; }; then
    rmdir "$d"
    d=$(mktemp -d /tmp/pgtest.XXXXXX) || return 1
    [ -z "$pg_user" ] || chown "$pg_user" "$d" || return 1
  fi
  printf '%s\n' "$d"
}

dir=""
datadir=""
logfile=""
child=""

# shellcheck disable=SC2317 # cleanup and on_signal are called from traps
cleanup() {
  local pid
  trap - EXIT INT TERM HUP
  pgbouncer_stop || true
  if [ -n "$datadir" ] && [ -f "$datadir/postmaster.pid" ]; then
    as_pg "$PGCTL" -D "$datadir" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    # Belt and braces: if pg_ctl could not stop it, kill the postmaster directly — but only
    # if that pid really is this cluster's postmaster (the pid file may be stale).
    if [ -f "$datadir/postmaster.pid" ]; then
      pid=$(head -n 1 "$datadir/postmaster.pid" 2>/dev/null || true)
      if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$datadir"; then
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
      fi
    fi
  fi
  [ -z "$dir" ] || rm -rf -- "$dir"
}

# shellcheck disable=SC2317
on_signal() {
  local sig=$1 code=$2
  trap - INT TERM HUP
  if [ -n "$child" ]; then
    # Pass the signal on, give CMD 15s to finish (go test prints its results), then kill it.
    kill -s "$sig" "$child" 2>/dev/null || true
    (
      for _ in $(seq 1 150); do
        kill -0 "$child" 2>/dev/null || exit 0
        sleep 0.1
      done
      kill -KILL "$child" 2>/dev/null
    ) </dev/null >/dev/null 2>&1 &
    wait "$child" 2>/dev/null || true
  fi
  cleanup
  exit "$code"
}

trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

dir=$(make_tmpdir) || die "could not create a temporary directory"
datadir=$dir/data
logfile=$dir/postgres.log

# ---------------------------------------------------------------------------------------
# initdb
if ! as_pg "$INITDB" -D "$datadir" -A trust -U postgres --encoding=UTF8 --locale=C --no-sync \
  >"$dir/initdb.log" 2>&1; then
  cat "$dir/initdb.log" >&2
  die "initdb failed"
fi

# ---------------------------------------------------------------------------------------
# A free port: bind port 0 and ask the kernel (python3), else probe from a random base.
port_in_use() {
  local p=$1
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
  fi
}

free_port() {
  local p
  if command -v python3 >/dev/null 2>&1 &&
    p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null) &&
    [ -n "$p" ]; then
    printf '%s\n' "$p"
    return 0
  fi
  p=$((20000 + RANDOM % 30000))
  for _ in $(seq 1 200); do
    if ! port_in_use "$p"; then
      printf '%s\n' "$p"
      return 0
    fi
    p=$((p + 1))
    [ "$p" -lt 60000 ] || p=20000
  done
  return 1
}

# ---------------------------------------------------------------------------------------
# Start; retry with another port if someone grabbed ours in between.
started=0
for attempt in 1 2 3 4 5; do
  port=$(free_port) || die "could not find a free TCP port"
  pgopts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB ${PGTEST_EXTRA_OPTS:-}"
  if as_pg "$PGCTL" -D "$datadir" -o "$pgopts" -l "$logfile" -w -t "$START_TIMEOUT" start >"$dir/pg_ctl.log" 2>&1; then
    started=1
    break
  fi
  if grep -qiE 'could not bind|address already in use|could not create any TCP/IP sockets' "$logfile" 2>/dev/null; then
    say "port $port was taken (attempt $attempt); trying another"
    as_pg "$PGCTL" -D "$datadir" -m immediate -w stop >/dev/null 2>&1 || true
    : >"$logfile" 2>/dev/null || true
    continue
  fi
  break
done
if [ "$started" -ne 1 ]; then
  cat "$dir/pg_ctl.log" >&2 || true
  tail -n 30 "$logfile" >&2 2>/dev/null || true
  die "PostgreSQL did not start (pg_ctl -w, timeout ${START_TIMEOUT}s)"
fi

version=$("$bindir/postgres" --version 2>/dev/null | awk '{print $3}') || version="?"
say "PostgreSQL $version running on 127.0.0.1:$port (data $datadir${pg_user:+, as user $pg_user}); removed when the command ends"

export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
export PGTEST_DATADIR=$datadir
export PGTEST_PGCTL=$PGCTL
export PGTEST_PGCTL_USER=$pg_user
export PGTEST_PGOPTS=$pgopts
export PGTEST_LOGFILE=$logfile
export PGTEST_PORT=$port
pgbouncer_start "$dir" "$port" || true

# ---------------------------------------------------------------------------------------
# Run CMD in the background so that a TERM/HUP sent to this script is handled at once
# (bash defers traps while a foreground child runs). The subshell restores SIGINT/SIGQUIT,
# which bash otherwise ignores in background children, and keeps stdin attached.
(
  trap - INT QUIT
  exec "$@"
) <&0 &
child=$!
set +e
wait "$child"
status=$?
set -e
child=""
exit "$status"
}
