# pgbouncer.sh — sourced by with-postgres.sh (not run on its own).
#
# pgbouncer_start DIR PGPORT: starts a PgBouncer in TRANSACTION mode on a free port in front
# of the throwaway cluster on 127.0.0.1:PGPORT, every database name passed through (`*`), trust
# auth with an auth_file made on the fly, config, log and pid file under DIR. Installs Debian's
# `pgbouncer` package first when it is missing and we are root (apt-get update first if the
# package is unknown). On success it exports
#   TEST_PGBOUNCER_URL  postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
#   PGTEST_PGBOUNCER_PORT
# and returns 0; otherwise it says why on stderr, exports nothing and returns 1 (the tests that
# need it then fail saying that TEST_PGBOUNCER_URL is missing: they never skip).
# pgbouncer_stop: stops it (SIGTERM, then SIGKILL after 5 s); safe to call when not started.
#
# Relies on with-postgres.sh's say, as_pg, free_port, port_in_use and is_root.

pgb_pidfile=""

find_pgbouncer() {
  command -v pgbouncer 2>/dev/null && return 0
  [ -x /usr/sbin/pgbouncer ] && { echo /usr/sbin/pgbouncer; return 0; }
  return 1
}

pgbouncer_start() {
  local dir=$1 pgport=$2 bin port attempt
  if ! bin=$(find_pgbouncer); then
    if [ "$is_root" -eq 1 ] && command -v apt-get >/dev/null 2>&1; then
      say "pgbouncer not found; installing Debian's 'pgbouncer' package with apt-get"
      export DEBIAN_FRONTEND=noninteractive
      if ! apt-get install -y pgbouncer >&2; then
        apt-get update >&2 && apt-get install -y pgbouncer >&2 || true
      fi
      # The package starts a system-wide instance on 6432 where an init system runs it; ours
      # is separate (own config, own port).
    fi
    bin=$(find_pgbouncer) || {
      say "pgbouncer is not installed and could not be installed (as root: apt-get install -y pgbouncer);" \
        "TEST_PGBOUNCER_URL is not set, so the tests through a pooler will fail"
      return 1
    }
  fi
  printf '"postgres" ""\n' >"$dir/pgbouncer-users.txt"
  for attempt in 1 2 3 4 5; do
    port=$(free_port) || return 1
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$pgport

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/pgbouncer-users.txt
admin_users = postgres
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 40
server_idle_timeout = 10
server_login_retry = 1
ignore_startup_parameters = extra_float_digits,options
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    [ -z "$pg_user" ] || chown "$pg_user" "$dir/pgbouncer.ini" "$dir/pgbouncer-users.txt"
    pgb_pidfile=$dir/pgbouncer.pid
    if as_pg "$bin" -d "$dir/pgbouncer.ini" >"$dir/pgbouncer.start.log" 2>&1; then
      for _ in $(seq 1 100); do
        port_in_use "$port" && break
        sleep 0.05
      done
      if port_in_use "$port" && [ -s "$pgb_pidfile" ]; then
        export TEST_PGBOUNCER_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
        export PGTEST_PGBOUNCER_PORT=$port
        say "$("$bin" --version 2>/dev/null | head -n 1) (transaction mode) on 127.0.0.1:$port in front of it"
        return 0
      fi
    fi
    pgbouncer_stop
    say "pgbouncer did not start on port $port (attempt $attempt):"
    tail -n 5 "$dir/pgbouncer.start.log" "$dir/pgbouncer.log" >&2 2>/dev/null || true
  done
  return 1
}

pgbouncer_stop() {
  local pid
  [ -n "$pgb_pidfile" ] && [ -f "$pgb_pidfile" ] || return 0
  pid=$(head -n 1 "$pgb_pidfile" 2>/dev/null || true)
  # Only ours: the pid file may be stale, and the pid reused by another process.
  if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "${pgb_pidfile%.pid}.ini"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f -- "$pgb_pidfile"
}
