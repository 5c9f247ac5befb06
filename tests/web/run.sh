#!/usr/bin/env bash
# Runs web tests (node --test files) against a live `xiaoxiang serve`:
# builds a test web root (the built page plus the client harness page),
# starts the server on an ephemeral port with the sim and the SockJS test
# services, parses the URL it prints, runs the tests, and stops the server
# on exit, also when a test fails or the run is interrupted.
#
# usage: run.sh XIAOXIANG_BINARY WEB_BUILD_DIR TEST_FILE...
#   WEB_BUILD_DIR is build/web (dist/ and node_modules/ inside).
# Exits 77 (skipped) when a browser test is asked for and there is no
# chromium (apt-get install chromium, see scripts/setup.sh).
# XIAOXIANG_WEB_SIM_SPEED sets the sim's speed (default 30).
set -euo pipefail

cli=$1
web_dir=$(cd "$2" && pwd)
shift 2
here=$(cd "$(dirname "$0")" && pwd)

for t in "$@"; do
  if [[ $t == *browser* ]] && [[ ! -x ${XIAOXIANG_CHROMIUM:-/usr/bin/chromium} ]]; then
    echo "run.sh: no chromium; skipping $t (apt-get install chromium)"
    exit 77
  fi
done
[[ -f $web_dir/dist/index.html ]] || { echo "run.sh: $web_dir/dist is not built (cmake --build ... --target xiaoxiang_web)"; exit 1; }

# One test root per run: runs of different test files may overlap in ctest -j.
root=$(mktemp -d "$web_dir/test-root.XXXXXX")
log=$root.server.log
server=
cleanup() {
  if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then
    kill "$server" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$root" "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cp -r "$web_dir/dist/." "$root/"
mkdir -p "$root/harness"
cp "$here/pages/harness.html" "$here/support/harness.js" \
   "$web_dir/node_modules/@stomp/stompjs/bundles/stomp.umd.min.js" "$root/harness/"

serve_args="--sim --sim-speed ${XIAOXIANG_WEB_SIM_SPEED:-30} --web-root $root --sockjs-test-services"
# shellcheck disable=SC2086  # serve_args is a list of words
"$cli" serve --port 0 $serve_args >"$log" 2>&1 &
server=$!

url=
for _ in $(seq 200); do
  url=$(grep -oE 'http://(127\.0\.0\.1|localhost|0\.0\.0\.0):[0-9]+' "$log" | head -1 || true)
  [[ -n $url ]] && break
  kill -0 "$server" 2>/dev/null || { echo "run.sh: serve exited:"; cat "$log"; exit 1; }
  sleep 0.1
done
[[ -n $url ]] || { echo "run.sh: serve printed no URL within 20 s:"; cat "$log"; exit 1; }
url=http://127.0.0.1:${url##*:}
echo "run.sh: server at $url (pid $server)"

export XIAOXIANG_URL=$url XIAOXIANG_CLI=$cli XIAOXIANG_WEB_ROOT=$root \
       XIAOXIANG_WEB_MODULES=$web_dir/node_modules XIAOXIANG_WEB_OUT=$web_dir \
       XIAOXIANG_SERVE_ARGS=$serve_args PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
status=0
node --test --test-concurrency=1 "$@" || status=$?
if [[ $status -ne 0 ]]; then
  echo "run.sh: tests failed ($status); last lines of the server's log:"
  tail -30 "$log"
fi
exit $status
