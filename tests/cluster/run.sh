#!/usr/bin/env bash
# The cluster test (issue 10): starts two throw-away Redis servers (the
# cluster's, and the single-partition reference's) and one PostgreSQL server
# (scripts/redis-server.sh, scripts/pg-server.sh; 127.0.0.1, free ports, own
# folders), runs cluster.test.mjs, which starts and kills the xiaoxiang nodes
# itself, and stops everything on exit, also when a check fails or the run
# is interrupted (any node still running is killed).
#
# usage: run.sh XIAOXIANG_BINARY WEB_BUILD_DIR
#   WEB_BUILD_DIR is build/web (its node_modules has @stomp/stompjs and
#   sockjs-client).
set -euo pipefail
cli=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
web_dir=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d /tmp/xiaoxiang-cluster.XXXXXX)

node_pid=
cleanup() {
  local status=$?
  [[ -n $node_pid ]] && kill -KILL "$node_pid" 2>/dev/null || true
  # Nodes the test could not stop (it was killed, or a check threw between
  # a start and its stop): every xiaoxiang process talking to our Redis.
  if [[ -f $tmp/redis/port ]]; then
    pkill -KILL -f -- "--redis 127.0.0.1:$(cat "$tmp/redis/port")" 2>/dev/null || true
  fi
  if [[ -f $tmp/redis-ref/port ]]; then
    pkill -KILL -f -- "--redis 127.0.0.1:$(cat "$tmp/redis-ref/port")" 2>/dev/null || true
  fi
  "$root/scripts/redis-server.sh" stop "$tmp/redis" >/dev/null 2>&1 || true
  "$root/scripts/redis-server.sh" stop "$tmp/redis-ref" >/dev/null 2>&1 || true
  "$root/scripts/pg-server.sh" stop "$tmp/pg" --clean >/dev/null 2>&1 || true
  if [[ $status -ne 0 && -d $tmp/logs ]]; then
    for f in "$tmp"/logs/*; do echo "== $f (last lines)"; tail -5 "$f"; done
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ -d $web_dir/node_modules/@stomp/stompjs ]] ||
  { echo "run.sh: $web_dir/node_modules has no @stomp/stompjs (cmake --build ... --target xiaoxiang_web)"; exit 1; }
"$root/scripts/redis-server.sh" start "$tmp/redis" >/dev/null ||
  { echo "run.sh: cannot start redis-server (scripts/redis-server.sh)"; exit 1; }
"$root/scripts/redis-server.sh" start "$tmp/redis-ref" >/dev/null ||
  { echo "run.sh: cannot start the reference redis-server"; exit 1; }
"$root/scripts/pg-server.sh" start "$tmp/pg" >"$tmp/pg.log" 2>&1 ||
  { echo "run.sh: cannot start PostgreSQL: $(cat "$tmp/pg.log")"; exit 1; }
mkdir -p "$tmp/logs"

export XIAOXIANG_CLI=$cli XIAOXIANG_WEB_MODULES=$web_dir/node_modules XIAOXIANG_CLUSTER_DIR=$tmp \
       XIAOXIANG_REDIS=127.0.0.1:$(cat "$tmp/redis/port") \
       XIAOXIANG_REDIS_REF=127.0.0.1:$(cat "$tmp/redis-ref/port") \
       XIAOXIANG_PG=$(cat "$tmp/pg/conninfo")
# In the background, so that INT / TERM run the cleanup at once (bash would
# wait for a foreground child first).
node --test --test-concurrency=1 "$here/cluster.test.mjs" &
node_pid=$!
wait "$node_pid"
