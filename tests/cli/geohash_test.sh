#!/usr/bin/env bash
# End-to-end test of `xiaoxiang geohash`: good input, exact round trip of the
# printed doubles, --help on every level, and every error with its exit code,
# line number and field. Usage: geohash_test.sh path/to/xiaoxiang
set -u
bin=${1:?usage: $0 path/to/xiaoxiang}
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect <name> <expected exit> <expected stdout> <stderr pattern> <stdin> -- args...
expect() {
  local name=$1 code=$2 want_out=$3 want_err=$4 input=$5
  shift 6
  printf '%b' "$input" | "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  [ "$got" -eq "$code" ] || fail "$name: exit $got, expected $code (stderr: $(cat "$tmp/err"))"
  if [ "$want_out" != "*" ] && [ "$(cat "$tmp/out")" != "$(printf '%b' "$want_out")" ]; then
    fail "$name: stdout '$(cat "$tmp/out")', expected '$(printf '%b' "$want_out")'"
  fi
  if [ -n "$want_err" ] && ! grep -qE -- "$want_err" "$tmp/err"; then
    fail "$name: stderr '$(cat "$tmp/err")' does not match '$want_err'"
  fi
}

# Good input: the Forbidden City, geohash.org's example, notations, spaces, CRLF.
expect "encode" 0 'wx4g0dtc73du\nu4pruydqqvj8\nwx4g0dtc73du' "" \
  '116.3972,39.9163\n10.40744,57.64911\n1.163972e2 , 3.99163E+1\r\n' -- geohash encode --precision 12
expect "encode precision 11" 0 'u4pruydqqvj' "" '10.40744,57.64911\n' -- geohash encode --precision 11
expect "encode precision=5" 0 'wx4g0' "" '116.3972,39.9163\n' -- geohash encode --precision=5
expect "encode default 12" 0 'wx4g0dtc73du' "" '+116.3972,+39.9163\n' -- geohash encode
expect "encode edges" 0 '000000000000\nzzzzzzzzzzzz\n7zzzzzzzzzzz\ns00000000000' "" \
  '180,-90\n179.99999999999997,90\n-0.0000001,-0.0000001\n0,0\n' -- geohash encode
expect "encode no newline at end" 0 'wx4g0' "" '116.3972,39.9163' -- geohash encode --precision 5
expect "decode" 0 '116.38916015625,39.92431640625,0.02197265625,0.02197265625\n22.5,22.5,22.5,22.5' "" \
  'wx4g0\n s \n' -- geohash decode
expect "decode upper case" 0 '116.38916015625,39.92431640625,0.02197265625,0.02197265625' "" 'WX4G0\n' -- geohash decode

# Round trip: decode prints shortest round-trip doubles; encoding the centre
# gives the hash back, for every precision.
for p in 1 2 3 4 5 6 7 8 9 10 11 12; do
  printf '116.397228,39.916313\n-73.985656,40.748433\n151.215297,-33.856784\n-180,90\n' |
    "$bin" geohash encode --precision $p >"$tmp/h$p" || fail "round trip encode p=$p"
  "$bin" geohash decode <"$tmp/h$p" | cut -d, -f1,2 | "$bin" geohash encode --precision $p >"$tmp/r$p" ||
    fail "round trip decode p=$p"
  cmp -s "$tmp/h$p" "$tmp/r$p" || fail "round trip p=$p: $(paste -d' ' "$tmp/h$p" "$tmp/r$p" | tr '\n' ';')"
done
# The printed doubles read back exactly: the centre of a 12-char cell.
printf 'wx4g0bm6c408\n' | "$bin" geohash decode >"$tmp/d"
python3 - "$tmp/d" <<'PY' || fail "decode output is not shortest round-trip text"
import sys
lon, lat, lon_err, lat_err = open(sys.argv[1]).read().strip().split(",")
for t in (lon, lat, lon_err, lat_err):
    assert repr(float(t)) == t or float(repr(float(t))) == float(t), t
assert float(lon_err) == 180 / 2**30 and float(lat_err) == 90 / 2**30, (lon_err, lat_err)
PY

# --help on every level.
expect "help" 0 "*" "" '' -- geohash --help
grep -q "encode --precision N" "$tmp/out" || fail "geohash --help lacks the encode line"
expect "help encode" 0 "*" "" '' -- geohash encode --help
grep -q "usage: xiaoxiang geohash encode" "$tmp/out" || fail "encode --help"
expect "help decode" 0 "*" "" '' -- geohash decode --help
grep -q "usage: xiaoxiang geohash decode" "$tmp/out" || fail "decode --help"
expect "top-level help lists geohash" 0 "*" "" '' -- --help
grep -q "geohash" "$tmp/out" || fail "xiaoxiang --help does not list geohash"

# Usage errors: exit 2.
expect "no subcommand" 2 "" "usage: xiaoxiang geohash" '' -- geohash
expect "unknown subcommand" 2 "" "unknown subcommand 'foo'" '' -- geohash foo
expect "precision 0" 2 "" "precision.*1 to 12.*'0'" '' -- geohash encode --precision 0
expect "precision 13" 2 "" "precision.*1 to 12.*'13'" '' -- geohash encode --precision 13
expect "precision x" 2 "" "precision.*'x'" '' -- geohash encode --precision x
expect "precision missing" 2 "" "precision' needs a value" '' -- geohash encode --precision
expect "unknown option" 2 "" "unknown option '--bogus'" '' -- geohash decode --bogus
expect "stray argument" 2 "" "unexpected argument 'x'" '' -- geohash encode x

# Bad input: exit 1, the line number and the field; earlier lines are output.
expect "bad lon" 1 'wx4g0' "line 2: lon: not a number 'abc'" '116.3972,39.9163\nabc,39.9\n' -- geohash encode --precision 5
expect "bad lat" 1 "" "line 1: lat: not a number ''" '116.4,\n' -- geohash encode
expect "lat missing" 1 "" "line 1: lat: missing" '116.4\n' -- geohash encode
expect "empty line" 1 "" "line 1: lon: missing" '\n' -- geohash encode
expect "three fields" 1 "" "line 1: lat: unexpected third field" '1,2,3\n' -- geohash encode
expect "lon range" 1 "" "line 1: lon: longitude is NaN, infinite or outside \[-180, 180\]" '180.5,0\n' -- geohash encode
expect "lat range" 1 's00000000000\ns00000000000' "line 3: lat: latitude is NaN, infinite or outside \[-90, 90\]" '0,0\n0,0\n0,-90.5\n' -- geohash encode
expect "nan" 1 "" "line 1: lon: longitude" 'nan,0\n' -- geohash encode
expect "inf" 1 "" "line 1: lat: latitude" '0,inf\n' -- geohash encode
expect "hex is not decimal" 1 "" "line 1: lon: not a number" '0x10,0\n' -- geohash encode
expect "double sign" 1 "" "line 1: lon: not a number" '++1,0\n' -- geohash encode
for c in a i l o; do
  expect "bad char $c" 1 "" "line 1: geohash: GeoHash has a character outside" "wx4${c}\n" -- geohash decode
done
expect "empty hash" 1 "22.5,22.5,22.5,22.5" "line 2: geohash: GeoHash is empty" 's\n\n' -- geohash decode
expect "too long" 1 "" "line 1: geohash: GeoHash is longer than 12" 'wx4g0bm6c408s\n' -- geohash decode

if [ "$failures" -ne 0 ]; then
  echo "geohash_test: $failures failure(s)"
  exit 1
fi
echo "geohash_test: all checks passed"
