#!/usr/bin/env bash
# End-to-end test of `xiaoxiang serve`: --help, usage errors with exit 2,
# a port in use with exit 3, and a live run with the sim: the URL it prints
# answers /ws/info, /api/orders and /api/city, a SockJS xhr session echoes on
# the test services, and SIGTERM stops it cleanly (exit 0).
# Usage: serve_test.sh path/to/xiaoxiang
set -u
bin=${1:?usage: $0 path/to/xiaoxiang}
failures=0
tmp=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill -9 "$server" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

source "$(dirname "$0")/lib.sh"

"$bin" serve --help >"$tmp/help" 2>&1 || fail "--help exits non-zero"
grep -q "usage: xiaoxiang serve" "$tmp/help" || fail "--help prints no usage"
grep -q -- "--sockjs-test-services" "$tmp/help" || fail "--help does not list --sockjs-test-services"
expect "unknown option" 2 "unknown option|--nope" -- serve --nope
expect "bad port" 2 "port" -- serve --port 70000
expect "bad speed" 2 "sim-speed" -- serve --sim-speed abc
expect "positional" 2 "unexpected argument 'x'" -- serve x
expect "missing web root" 2 "web-root: '/no/such/dir' is not a folder" -- serve --web-root /no/such/dir
expect "db folder" 2 "db: folder" -- serve --db /no/such/dir/x.sqlite
expect "bad address" 3 "address" -- serve --address "not an address" --port 0 --duration 1

command -v curl >/dev/null || { echo "serve_test: no curl; live checks skipped"; exit $((failures > 0)); }

mkdir -p "$tmp/root"
echo '<html>page</html>' >"$tmp/root/index.html"
"$bin" serve --port 0 --sim --sim-speed 120 --riders 60 --web-root "$tmp/root" \
  --sockjs-test-services --db "$tmp/db.sqlite" >"$tmp/log" 2>&1 &
server=$!
url=
for _ in $(seq 100); do
  url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$tmp/log" | head -1)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { fail "no URL printed: $(cat "$tmp/log")"; exit 1; }

# A second server on the same port cannot listen: exit 3.
expect "port in use" 3 "cannot listen" -- serve --port "${url##*:}" --duration 1

curl -sf "$url/ws/info" | grep -q '"websocket":true' || fail "/ws/info"
[ "$(curl -sf "$url/")" = "<html>page</html>" ] || fail "static index"
have_order=
for _ in $(seq 100); do
  curl -sf "$url/api/orders?limit=5" | grep -q '"orderId"' && { have_order=1; break; }
  sleep 0.1
done
[ -n "$have_order" ] || fail "/api/orders has no order after 10 s of sim"
curl -sf "$url/api/city" | grep -q '"FeatureCollection"' || fail "/api/city"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/api/orders/NOPE")" = 404 ] || fail "unknown order is not 404"
[ "$(curl -sf -X POST "$url/echo/000/s1/xhr")" = o ] || fail "xhr open frame"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '["hi"]' "$url/echo/000/s1/xhr_send")" = 204 ] || fail "xhr_send"
[ "$(curl -sf -X POST "$url/echo/000/s1/xhr")" = 'a["hi"]' ] || fail "xhr echo"

kill -TERM "$server"
wait "$server"
code=$?
server=
[ "$code" -eq 0 ] || fail "SIGTERM: exit $code ($(cat "$tmp/log"))"
grep -q "stopped" "$tmp/log" || fail "no 'stopped' line"

if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "serve_test: all passed"
