#!/usr/bin/env bash
# A throw-away PostgreSQL server for tests and benchmarks.
#
#   scripts/pg-server.sh start DIR [PORT]   initdb into DIR/data (if new), start it
#   scripts/pg-server.sh stop  DIR          stop it (and remove DIR with --clean)
#   scripts/pg-server.sh status DIR         exit 0 when it answers
#
# The server listens on 127.0.0.1 only, on PORT or, when PORT is 0 or absent,
# on a free port picked here (retried if another process takes it first). Its
# unix socket lives in DIR/socket (in DIR/rundir's folder under /tmp when the
# server's user cannot reach DIR, e.g. a mktemp -d folder as root). After start, DIR/port holds the port and
# DIR/conninfo a libpq connection string (database "xiaoxiang", user
# "postgres", no password: trust authentication on loopback only), which the
# tests read (tests/postgres/pg_test_server.hpp).
#
# The postgres binaries refuse to run as root: as root the server runs as the
# "postgres" user (created by Debian's postgresql package; "nobody" if it is
# missing) and DIR/data is owned by it; as a normal user it runs as that user.
#
# Environment: XIAOXIANG_PG_BIN (default /usr/lib/postgresql/15/bin, else the
# newest under /usr/lib/postgresql), XIAOXIANG_PG_DURABLE=1 keeps fsync on
# (benchmarks); by default fsync is off, which is fine for throw-away data.
set -euo pipefail

usage() {
  echo "usage: $0 start DIR [PORT] | stop DIR [--clean] | status DIR" >&2
  exit 2
}
[ $# -ge 2 ] || usage
cmd=$1
dir=$2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

bin=${XIAOXIANG_PG_BIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$bin/postgres" ]; then
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$newest" ] && bin=$newest
fi
if [ ! -x "$bin/postgres" ]; then
  echo "pg-server: no PostgreSQL binaries in $bin (run make setup: apt-get install postgresql)" >&2
  exit 1
fi

# Who runs the server, and how to run a command as them.
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  owner=postgres
  getent passwd postgres >/dev/null || owner=nobody
  as_owner=(runuser -u "$owner" --)
fi
run() { "${as_owner[@]}" "$@"; }

# The owner must be able to reach DIR; if a parent folder is private (mktemp
# -d, a home directory as root), the server's files (data, socket, log) live
# in a folder of their own under /tmp instead, named in DIR/rundir.
rundir=$dir
if [ ${#as_owner[@]} -gt 0 ] && [ "$cmd" = start ] && [ ! -e "$dir/rundir" ]; then
  if ! run test -x "$dir"; then
    alt=$(mktemp -d /tmp/xiaoxiang-pg.XXXXXX)
    echo "$alt" >"$dir/rundir"
  fi
fi
[ -f "$dir/rundir" ] && rundir=$(cat "$dir/rundir")
data=$rundir/data
socket=$rundir/socket
log=$rundir/server.log

status() {
  [ -f "$dir/port" ] && run "$bin/pg_isready" -q -h "$socket" -p "$(cat "$dir/port")"
}

start() {
  local want_port=${1:-0}
  if status; then
    echo "pg-server: already running on port $(cat "$dir/port")"
    return 0
  fi
  mkdir -p "$rundir" "$socket"
  if [ ${#as_owner[@]} -gt 0 ]; then
    chown "$owner" "$rundir" "$socket"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    run "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
      --no-instructions >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      echo "pg-server: initdb failed" >&2
      return 1
    }
  fi
  local durable=off
  [ "${XIAOXIANG_PG_DURABLE:-0}" = 1 ] && durable=on
  local attempt port
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$want_port
    if [ "$port" = 0 ]; then
      # A free port now; the start below fails (and we try another) if a
      # process takes it in between.
      port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    fi
    if run "$bin/pg_ctl" -D "$data" -l "$log" -w -t 30 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$socket \
            -c fsync=$durable -c synchronous_commit=on -c full_page_writes=$durable \
            -c max_connections=100 -c shared_buffers=64MB" >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      echo "host=127.0.0.1 port=$port dbname=xiaoxiang user=postgres connect_timeout=10" \
        >"$dir/conninfo"
      run "$bin/psql" -q -h "$socket" -p "$port" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'xiaoxiang'" | grep -q 1 ||
        run "$bin/createdb" -h "$socket" -p "$port" -U postgres xiaoxiang
      echo "pg-server: running on 127.0.0.1:$port (data $data)"
      return 0
    fi
    [ "$want_port" = 0 ] || break
  done
  tail -n 20 "$log" >&2 || true
  echo "pg-server: could not start PostgreSQL (log: $log)" >&2
  return 1
}

stop() {
  if [ -f "$data/postmaster.pid" ]; then
    run "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      run "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -f "$dir/port" "$dir/conninfo"
  if [ "${1:-}" = --clean ]; then
    [ "$rundir" != "$dir" ] && rm -rf "$rundir"
    rm -rf "$dir"
  fi
  echo "pg-server: stopped"
}

case $cmd in
  start) start "${3:-0}" ;;
  stop) stop "${3:-}" ;;
  status) status ;;
  *) usage ;;
esac
