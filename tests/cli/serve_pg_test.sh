#!/usr/bin/env bash
# `xiaoxiang serve --pg`: PostgreSQL as the storage. Usage errors (--pg with
# --db, a server that does not answer: exit non-zero naming it), then a live
# run with the sim against a throw-away server (scripts/pg-server.sh, its own
# folder, stopped on exit also when a check fails): after it stops, the
# orders and their tracking records are in PostgreSQL, and a second run on
# the same schema recovers them.
# Usage: serve_pg_test.sh path/to/xiaoxiang
set -u
bin=${1:?usage: $0 path/to/xiaoxiang}
failures=0
tmp=$(mktemp -d)
root=${XIAOXIANG_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cleanup() {
  "$root/scripts/pg-server.sh" stop "$tmp/pg" --clean >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

source "$(dirname "$0")/lib.sh"

"$bin" serve --help >"$tmp/help" 2>&1 || fail "--help exits non-zero"
grep -q -- "--pg CONNINFO" "$tmp/help" || fail "--help does not list --pg"
expect "pg and db" 2 "two storages" -- serve --pg "host=127.0.0.1" --db "$tmp/x.sqlite" --duration 1
"$bin" serve --port 0 --pg "host=127.0.0.1 port=1 dbname=nowhere connect_timeout=3" --duration 1 \
  >"$tmp/out" 2>"$tmp/err" </dev/null && fail "an unreachable server does not fail serve"
grep -q "host=127.0.0.1 port=1 dbname=nowhere" "$tmp/err" || fail "the error does not name the server: $(cat "$tmp/err")"

"$root/scripts/pg-server.sh" start "$tmp/pg" >"$tmp/pg.log" 2>&1 || {
  fail "pg-server.sh start: $(cat "$tmp/pg.log")"
  exit 1
}
conninfo=$(cat "$tmp/pg/conninfo")
psql_count() { psql -tA "$conninfo" -c "$1" 2>&1; }

"$bin" serve --port 0 --sim --sim-speed 1200 --riders 30 --pg "$conninfo" --duration 4 \
  >"$tmp/log" 2>&1 </dev/null || fail "serve --pg exited $?: $(tail -5 "$tmp/log")"
orders=$(psql_count "SELECT count(*) FROM orders")
records=$(psql_count "SELECT count(*) FROM order_tracking")
[ "${orders:-0}" -gt 0 ] 2>/dev/null || fail "no orders in PostgreSQL after the run ($orders)"
[ "${records:-0}" -gt "${orders:-0}" ] 2>/dev/null || fail "too few tracking records ($records for $orders orders)"
gaps=$(psql_count "SELECT count(*) FROM (SELECT order_id FROM order_tracking GROUP BY order_id
                   HAVING max(version) <> count(*)) g")
[ "$gaps" = 0 ] || fail "$gaps orders have version gaps in order_tracking"
stale=$(psql_count "SELECT count(*) FROM orders o WHERE version <> (SELECT max(version)
                    FROM order_tracking t WHERE t.order_id = o.id)")
[ "$stale" = 0 ] || fail "$stale orders whose version is not their last record's"

# A second run recovers from the same tables and keeps writing after them.
"$bin" serve --port 0 --sim --sim-speed 1200 --riders 30 --seed 2 --pg "$conninfo" --duration 4 \
  >"$tmp/log2" 2>&1 </dev/null || fail "second serve --pg exited $?: $(tail -5 "$tmp/log2")"
records2=$(psql_count "SELECT count(*) FROM order_tracking")
[ "${records2:-0}" -gt "${records:-0}" ] 2>/dev/null || fail "the second run wrote nothing ($records2 <= $records)"

exit $((failures > 0))
