#!/usr/bin/env bash
# Integration check of /metrics on a real server: `xiaoxiang serve --sim`
# with an encrypted --db runs a few seconds with a SockJS client attached;
# its scrape must pass `promtool check metrics` (the 0.0.4 text format and
# Prometheus' naming rules), show the engine moving, and hold every metric
# name the Grafana dashboard (docs/grafana/xiaoxiang-dashboard.json) queries:
# a dashboard panel on a name that does not exist fails here.
# Usage: metrics_scrape.sh path/to/xiaoxiang path/to/source-dir
set -u
bin=${1:?usage: $0 path/to/xiaoxiang source-dir}
src=${2:?usage: $0 path/to/xiaoxiang source-dir}
dashboard="$src/docs/grafana/xiaoxiang-dashboard.json"
py=/usr/bin/python3
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill -9 "$server" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

command -v promtool >/dev/null || { echo "metrics_scrape: promtool missing (Debian package prometheus)"; exit 1; }
command -v curl >/dev/null || { echo "metrics_scrape: curl missing"; exit 1; }

# A key generated here, never committed.
echo "k1:$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$tmp/keys"
"$bin" serve --port 0 --sim --sim-speed 120 --riders 40 --db "$tmp/db.sqlite" \
  --db-key-file "$tmp/keys" --duration 60 >"$tmp/log" 2>&1 &
server=$!
url=
for _ in $(seq 100); do
  url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$tmp/log" | head -1)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { fail "no URL printed: $(cat "$tmp/log")"; exit 1; }

# A SockJS xhr-streaming client subscribed to the riders topic: a session,
# a subscription and messages out to count.
session="$RANDOM$RANDOM"
curl -s -N -X POST --max-time 6 "$url/ws/000/$session/xhr_streaming" >"$tmp/stream" 2>/dev/null &
streamer=$!
sleep 0.5
frame() { printf '%s' "$1" | $py -c 'import json,sys; print(json.dumps([sys.stdin.read()+"\0"]))'; }
curl -s -X POST -H 'Content-Type: text/plain' --data-binary "$(frame $'CONNECT\naccept-version:1.2\nhost:localhost\n\n')" \
  "$url/ws/000/$session/xhr_send" >/dev/null
curl -s -X POST -H 'Content-Type: text/plain' --data-binary "$(frame $'SUBSCRIBE\nid:0\ndestination:/topic/riders\n\n')" \
  "$url/ws/000/$session/xhr_send" >/dev/null
sleep 3
curl -sf "$url/metrics" >"$tmp/scrape" || fail "GET /metrics"
wait "$streamer" 2>/dev/null

promtool check metrics <"$tmp/scrape" >"$tmp/promtool" 2>&1 || fail "promtool check metrics: $(cat "$tmp/promtool")"
[ -s "$tmp/promtool" ] && { echo "promtool:"; cat "$tmp/promtool"; fail "promtool reported problems"; }

value() { grep -E "^$1 " "$tmp/scrape" | head -1 | awk '{print $2}'; }
gt0() { $py -c "import sys; sys.exit(0 if float('${1:-0}') > 0 else 1)" 2>/dev/null; }
for name in xiaoxiang_tracker_events_total xiaoxiang_tracker_accepted_total \
    xiaoxiang_ingest_to_publish_seconds_count xiaoxiang_ingest_to_durable_seconds_count \
    xiaoxiang_tracker_published_total xiaoxiang_http_requests_total \
    'xiaoxiang_stomp_sessions_total\{endpoint="/ws"\}' 'xiaoxiang_messages_out_total\{endpoint="/ws"\}'; do
  gt0 "$(value "$name")" || fail "$name is not > 0: '$(value "$name")'"
done
grep -q '^# TYPE xiaoxiang_send_queue_bytes histogram' "$tmp/scrape" || fail "no send-queue histogram"
grep -q '^xiaoxiang_storage_backlog_records ' "$tmp/scrape" || fail "no storage backlog gauge"

# Every metric name the dashboard's queries use exists in the scrape.
$py - "$dashboard" "$tmp/scrape" <<'PY' || fail "dashboard names"
import json, re, sys
dash = json.load(open(sys.argv[1]))
exposed = set()
for line in open(sys.argv[2]):
    m = re.match(r'# TYPE (\S+) (\S+)', line)
    if m:
        name, kind = m.groups()
        exposed.add(name)
        if kind == 'histogram':
            exposed.update({name + '_bucket', name + '_sum', name + '_count'})
exprs = []
def walk(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ('expr', 'query') and isinstance(v, str):
                exprs.append(v)
            else:
                walk(v)
    elif isinstance(node, list):
        for v in node:
            walk(v)
walk(dash)
used = set()
for e in exprs:
    used.update(re.findall(r'\bxiaoxiang_[a-zA-Z0-9_]+', e))
missing = sorted(used - exposed)
if not exprs or not used:
    print('the dashboard has no xiaoxiang_ query'); sys.exit(1)
if missing:
    print('dashboard queries use names the server does not expose:', ', '.join(missing)); sys.exit(1)
print(f'dashboard: {len(exprs)} queries, {len(used)} metric names, all exposed')
PY

kill -TERM "$server"
wait "$server"
code=$?
server=
[ "$code" -eq 0 ] || fail "serve exit $code after SIGTERM: $(tail -5 "$tmp/log")"
# The database was written encrypted: no address of the sim in the clear.
if command -v sqlite3 >/dev/null; then
  [ "$(sqlite3 "$tmp/db.sqlite" "SELECT count(*) FROM order_tracking WHERE typeof(address) != 'blob'")" = 0 ] ||
    fail "plaintext rows in an encrypted database"
fi
echo "metrics_scrape: $failures failure(s)"
exit $((failures > 0))
