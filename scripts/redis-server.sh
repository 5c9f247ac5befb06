#!/usr/bin/env bash
# Starts or stops a throw-away redis-server for tests and benchmarks.
#   redis-server.sh start DIR [--appendonly]   listens on 127.0.0.1 only, on a
#                                              free port written to DIR/port
#   redis-server.sh stop DIR                   stops it (quietly if not running)
# Nothing is persisted unless --appendonly (then DIR/appendonlydir holds it).
# DIR is created if missing; its redis.log is the server's log.
set -u
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR [--appendonly]" >&2
  exit 2
fi
server=$(command -v redis-server || true)
cli=$(command -v redis-cli || true)

stop() {
  [ -f "$dir/redis.pid" ] || return 0
  local pid
  pid=$(cat "$dir/redis.pid" 2>/dev/null)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$dir/redis.pid" "$dir/port"
  return 0
}

free_port() {
  /usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

case "$cmd" in
  start)
    if [ -z "$server" ] || [ -z "$cli" ]; then
      echo "redis-server.sh: redis-server/redis-cli not installed (scripts/setup.sh installs them)" >&2
      exit 3
    fi
    mkdir -p "$dir" || exit 3
    dir=$(cd "$dir" && pwd)
    stop  # a server left over from an earlier run of the same folder
    appendonly=no
    [ "${3:-}" = "--appendonly" ] && appendonly=yes
    # The port is free when chosen but another process may take it before
    # redis binds it: retry with another port.
    for attempt in 1 2 3 4 5; do
      port=$(free_port)
      "$server" --port "$port" --bind 127.0.0.1 --protected-mode yes --dir "$dir" \
        --save "" --appendonly "$appendonly" --daemonize yes \
        --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null 2>&1
      for _ in $(seq 1 100); do
        if "$cli" -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
          echo "$port" >"$dir/port"
          echo "redis-server.sh: listening on 127.0.0.1:$port (dir $dir)"
          exit 0
        fi
        sleep 0.05
      done
      stop
      echo "redis-server.sh: attempt $attempt on port $port failed; retrying" >&2
    done
    echo "redis-server.sh: could not start redis-server (see $dir/redis.log)" >&2
    exit 3
    ;;
  stop)
    stop
    ;;
  *)
    echo "usage: $0 start|stop DIR [--appendonly]" >&2
    exit 2
    ;;
esac
