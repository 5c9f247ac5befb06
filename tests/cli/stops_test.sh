#!/usr/bin/env bash
# End-to-end test of `xiaoxiang stops`: a hand-made file with one stop, the
# MovingPandas reference rows for geolife_small (when the real data is
# there), --track, --mode streaming, --help, and every error with its exit
# code, line number and field. Usage: stops_test.sh path/to/xiaoxiang
set -u
bin=${1:?usage: $0 path/to/xiaoxiang}
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
real=${XIAOXIANG_REAL_DATA:-${XIAOXIANG_SOURCE_DIR:-$(dirname "$0")/../..}/../shared/data/real}


source "$(dirname "$0")/lib.sh"

header='dataset,track_id,stop_index,start_ms,end_ms,duration_s,n_points,median_lon,median_lat'

# A track that moves, stands 2 minutes within a few metres, moves on; and a
# second track that only moves.
{
  echo 'track_id,timestamp_ms,lon,lat'
  t=1000000
  for i in 0 1 2 3 4; do echo "a,$((t + i * 10000)),116.$((300 + i * 2))000,39.9"; done
  for i in 5 6 7 8 9 10 11 12 13 14 15 16 17; do echo "a,$((t + i * 10000)),116.310000$((i % 2)),39.9000$((i % 3))"; done
  for i in 18 19 20 21; do echo "a,$((t + i * 10000)),116.3$((12 + i))000,39.9"; done
  for i in 0 1 2 3 4 5 6 7 8 9; do echo "b,$((t + i * 10000)),116.$((400 + i))000,39.9"; done
} >"$tmp/hand.normalized.csv"
expect "hand-made" 0 "" -- stops "$tmp/hand.normalized.csv" --max-diameter 30 --min-duration 60
want="$header
hand,a,0,1050000,1170000,120.0,13,116.3100001,39.90001"
[ "$(cat "$tmp/out")" = "$want" ] || fail "hand-made: got '$(cat "$tmp/out")', expected '$want'"
expect "streaming mode" 0 "" -- stops "$tmp/hand.normalized.csv" --mode streaming
[ "$(sed -n 2p "$tmp/out" | cut -d, -f1-5)" = "hand,a,0,1050000,1170000" ] || fail "streaming: '$(cat "$tmp/out")'"
expect "track filter" 0 "" -- stops "$tmp/hand.normalized.csv" --track b
[ "$(cat "$tmp/out")" = "$header" ] || fail "track b has no stop: '$(cat "$tmp/out")'"
expect "longer minimum" 0 "" -- stops "$tmp/hand.normalized.csv" --min-duration=600
[ "$(wc -l <"$tmp/out")" -eq 1 ] || fail "min-duration 600: '$(cat "$tmp/out")'"

# The reference rows of MovingPandas for geolife_small, byte for byte.
if [ -f "$real/geolife_small.normalized.csv" ]; then
  expect "geolife_small" 0 "" -- stops "$real/geolife_small.normalized.csv" --max-diameter 30 --min-duration 60
  grep '^geolife_small,' "$real/reference_movingpandas_stops.csv" >"$tmp/want"
  tail -n +2 "$tmp/out" | diff - "$tmp/want" >/dev/null || fail "geolife_small differs from the MovingPandas reference"
else
  echo "skipping the reference comparison: $real not found"
fi

# --help and usage errors.
expect "help" 0 "" -- stops --help
grep -q "usage: xiaoxiang stops" "$tmp/out" || fail "help: no usage line"
expect "no file" 2 "expected one FILE" -- stops
expect "bad mode" 2 "--mode: expected movingpandas or streaming" -- stops "$tmp/hand.normalized.csv" --mode fast
expect "bad diameter" 2 "max-diameter" -- stops "$tmp/hand.normalized.csv" --max-diameter -3
expect "bad duration" 2 "min-duration" -- stops "$tmp/hand.normalized.csv" --min-duration abc
expect "unknown option" 2 "radius" -- stops "$tmp/hand.normalized.csv" --radius 5
expect "missing file" 3 "cannot read" -- stops "$tmp/none.normalized.csv"

# Bad rows: exit 1 naming the line and the field.
bad() {
  local name=$1 row=$2 pattern=$3
  printf 'track_id,timestamp_ms,lon,lat\na,1000,116.3,39.9\n%s\n' "$row" >"$tmp/bad.normalized.csv"
  expect "$name" 1 "$pattern" -- stops "$tmp/bad.normalized.csv"
}
bad "bad time" "a,12x,116.3,39.9" "line 3: timestamp_ms"
bad "negative time" "a,-5,116.3,39.9" "line 3: timestamp_ms"
bad "bad lon" "a,2000,200,39.9" "line 3: lon"
bad "bad lat" "a,2000,116.3,nan" "line 3: lat"
bad "missing lat" "a,2000,116.3" "line 3: lat: missing"
bad "extra field" "a,2000,116.3,39.9,7" "line 3: lat: unexpected fifth field"
bad "empty track" ",2000,116.3,39.9" "line 3: track_id"
printf 'id,t,x,y\n' >"$tmp/header.normalized.csv"
expect "bad header" 1 "line 1: header" -- stops "$tmp/header.normalized.csv"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "stops_test: ok"
