#!/usr/bin/env bash
# End-to-end test of `xiaoxiang queue-feed` and `serve --redis`: a throw-away
# redis-server (scripts/redis-server.sh, stopped on exit even on failure),
# sim events fed into 4 partitions (entries per stream add up), a node
# consuming them all, and every error with its exit code and the option it
# names. Usage: queue_feed_test.sh path/to/xiaoxiang
set -u
bin=${1:?usage: $0 path/to/xiaoxiang}
failures=0
tmp=$(mktemp -d)
here=$(cd "$(dirname "$0")" && pwd)
script="$here/../../scripts/redis-server.sh"
trap '"$script" stop "$tmp/redis" >/dev/null 2>&1; rm -rf "$tmp"' EXIT

source "$here/lib.sh"

"$script" start "$tmp/redis" >/dev/null || { echo "queue_feed_test: cannot start redis-server"; exit 1; }
port=$(cat "$tmp/redis/port")
rcli() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }

"$bin" sim --seed 3 --riders 8 --minutes 30 --start $(( $(date +%s) * 1000 - 3600000 )) --out "$tmp/sim" >/dev/null 2>&1 || fail "sim failed"
lines=$(wc -l <"$tmp/sim/events.jsonl")

# Feeding: every event lands, positions of riders with orders in two
# partitions twice; the entries of the 4 streams add up to what it printed.
expect "feed" 0 "" -- queue-feed --redis "127.0.0.1:$port" --partition-count 4 --in "$tmp/sim/events.jsonl"
grep -q "^$lines events, [0-9]* stream entries into 4 partitions (xx:events:0..3)" "$tmp/out" ||
  fail "feed summary: $(cat "$tmp/out")"
entries=$(sed -n 's/^[0-9]* events, \([0-9]*\) stream entries.*/\1/p' "$tmp/out")
total=0
for p in 0 1 2 3; do
  n=$(rcli XLEN "xx:events:$p")
  [ "$n" -gt 0 ] || fail "partition $p is empty"
  total=$((total + n))
done
[ "$total" = "$entries" ] || fail "streams hold $total entries, feed printed $entries"
[ "$entries" -ge "$lines" ] || fail "fewer entries ($entries) than events ($lines)"
rcli XRANGE xx:events:0 - + COUNT 1 | grep -q '"type"' || fail "an entry has no event JSON"

# Standard input works too.
head -5 "$tmp/sim/events.jsonl" | "$bin" queue-feed --redis "127.0.0.1:$port" --prefix stdin: >"$tmp/out" 2>"$tmp/err" ||
  fail "stdin feed failed: $(cat "$tmp/err")"
grep -q "^5 events" "$tmp/out" || fail "stdin summary: $(cat "$tmp/out")"

# --rate paces the feed: 40 events at 100/s take about 0.4 s (at least 0.3).
head -40 "$tmp/sim/events.jsonl" >"$tmp/paced.jsonl"
t0=$(date +%s%N)
expect "paced feed" 0 "" -- queue-feed --redis "127.0.0.1:$port" --prefix paced: --rate 100 --in "$tmp/paced.jsonl"
elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
grep -q "^40 events" "$tmp/out" || fail "paced summary: $(cat "$tmp/out")"
[ "$elapsed_ms" -ge 300 ] || fail "40 events at --rate 100 took only $elapsed_ms ms"

# A node that owns every partition consumes them all and acknowledges them.
"$bin" serve --port 0 --redis "127.0.0.1:$port" --partition-count 4 --partitions all --node n1 \
  --duration 4 >"$tmp/serve.out" 2>"$tmp/serve.err" || fail "serve --redis failed: $(cat "$tmp/serve.err")"
grep -q "redis node 'n1' at 127.0.0.1:$port, 4 partitions, consuming 0,1,2,3; consumed $entries entries" "$tmp/serve.out" ||
  fail "serve summary: $(cat "$tmp/serve.out")"
grep -q " 0 rejected" "$tmp/serve.out" || fail "serve rejected events: $(cat "$tmp/serve.out")"
pending=0
for p in 0 1 2 3; do
  n=$(rcli XPENDING "xx:events:$p" trackers 2>/dev/null | head -1)
  pending=$((pending + ${n:-0}))
done
[ "$pending" -eq 0 ] || fail "$pending entries left pending"

# A bad line stops the feed with its number and field.
head -3 "$tmp/sim/events.jsonl" >"$tmp/bad.jsonl"
echo '{"type":"order_paid","eventId":"E1","time":1}' >>"$tmp/bad.jsonl"
expect "bad line" 1 "bad.jsonl:4: orderId: required field is missing \(3 events written before it\)" -- \
  queue-feed --redis "127.0.0.1:$port" --in "$tmp/bad.jsonl"

# Usage and environment errors.
expect "help" 0 "" -- queue-feed --help
grep -q "usage: xiaoxiang queue-feed" "$tmp/out" || fail "help: $(cat "$tmp/out")"
expect "no redis" 2 "--redis HOST:PORT is required" -- queue-feed --in "$tmp/bad.jsonl"
expect "bad redis" 2 "option '--redis' needs HOST:PORT, got 'h:x'" -- queue-feed --redis h:x
expect "bad count" 2 "option '--partition-count'" -- queue-feed --redis ":$port" --partition-count 0
expect "missing file" 3 "cannot read '$tmp/none.jsonl'" -- queue-feed --redis ":$port" --in "$tmp/none.jsonl"
expect "bad rate" 2 "option '--rate' needs a number" -- queue-feed --redis ":$port" --rate 0
expect "stray argument" 2 "unexpected argument 'x'" -- queue-feed --redis ":$port" x
expect "unreachable" 3 "redis 127.0.0.1:1: connect" -- queue-feed --redis 127.0.0.1:1 --in "$tmp/bad.jsonl"
expect "serve bad partitions" 2 "--partitions: field value is outside its domain" -- \
  serve --port 0 --redis ":$port" --partition-count 4 --partitions 2-9 --duration 1
expect "serve partitions without redis" 2 "--redis: required field is missing" -- \
  serve --port 0 --partitions 0-3 --duration 1

if [ $failures -eq 0 ]; then echo "queue_feed_test: ok"; else echo "queue_feed_test: $failures failures"; fi
[ $failures -eq 0 ]
