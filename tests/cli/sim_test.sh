#!/usr/bin/env bash
# End-to-end test of `xiaoxiang sim`: the three files, determinism (same seed
# same bytes, other seed other bytes), every line decodes (--check), the
# summary, --help, and every error with its exit code and the option or path
# it names. Usage: sim_test.sh path/to/xiaoxiang
set -u
bin=${1:?usage: $0 path/to/xiaoxiang}
failures=0
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

source "$(dirname "$0")/lib.sh"

# A run writes the three files and a summary.
expect "run" 0 "" -- sim --seed 5 --riders 30 --minutes 45 --out "$tmp/a"
for f in events.jsonl ground_truth.csv city.geojson; do
  [ -s "$tmp/a/$f" ] || fail "run: $f missing or empty"
done
grep -q '^events ' "$tmp/out" || fail "run: no summary on stdout: $(cat "$tmp/out")"
grep -q '^orders ' "$tmp/out" || fail "run: summary lacks orders"
[ "$(head -1 "$tmp/a/ground_truth.csv")" = "order_id,rider_id,kind,start_ms,end_ms" ] ||
  fail "ground truth header: $(head -1 "$tmp/a/ground_truth.csv")"
grep -q '"type":"FeatureCollection"' "$tmp/a/city.geojson" || fail "city.geojson is no FeatureCollection"
lines=$(wc -l <"$tmp/a/events.jsonl")
[ "$lines" -gt 5000 ] || fail "run: only $lines events"
# Every kind of event occurs, each line is one object with deliveredAt first.
for kind in order_created order_paid picking_stage rider_assigned rider_position order_delivered; do
  grep -q "\"type\":\"$kind\"" "$tmp/a/events.jsonl" || fail "no $kind in the stream"
done
[ "$(grep -c '^{"deliveredAt":[0-9]*,"type":"[a-z_]*",.*}$' "$tmp/a/events.jsonl")" -eq "$lines" ] ||
  fail "some lines are not {\"deliveredAt\":N,\"type\":...}"

# Every line decodes.
expect "check" 0 "" -- sim --check "$tmp/a/events.jsonl"
grep -q "^$lines events decoded" "$tmp/out" || fail "check: $(cat "$tmp/out")"

# Determinism: same seed same bytes (and same stdout), other seed other bytes.
cp "$tmp/out" "$tmp/summary_a" 2>/dev/null
"$bin" sim --seed 5 --riders 30 --minutes 45 --out "$tmp/b" >"$tmp/summary_b" 2>/dev/null ||
  fail "second run failed"
for f in events.jsonl ground_truth.csv city.geojson; do
  cmp -s "$tmp/a/$f" "$tmp/b/$f" || fail "same seed, different $f"
done
"$bin" sim --seed 6 --riders 30 --minutes 45 --out "$tmp/c" >/dev/null 2>&1 || fail "seed 6 run failed"
cmp -s "$tmp/a/events.jsonl" "$tmp/c/events.jsonl" && fail "different seeds, same events"

# A broken line is reported with its number and the field.
head -3 "$tmp/a/events.jsonl" >"$tmp/bad.jsonl"
echo '{"type":"rider_position","eventId":"E1","time":1,"riderId":"R 1","longitude":1,"latitude":2}' >>"$tmp/bad.jsonl"
expect "check bad line" 1 "bad.jsonl:4: riderId: id has a character" -- sim --check "$tmp/bad.jsonl"
expect "check missing file" 3 "cannot read '$tmp/none.jsonl'" -- sim --check "$tmp/none.jsonl"

# Help and usage errors name the option.
expect "help" 0 "" -- sim --help
grep -q "usage: xiaoxiang sim" "$tmp/out" || fail "help: $(cat "$tmp/out")"
expect "no out" 2 "--out DIR is required" -- sim --minutes 1
expect "bad riders" 2 "option '--riders' needs a whole number" -- sim --riders many --out "$tmp/x"
expect "negative riders" 2 "option '--riders'" -- sim --riders -1 --out "$tmp/x"
expect "bad minutes" 2 "option '--minutes'" -- sim --minutes 0 --out "$tmp/x"
expect "bad seed" 2 "option '--seed'" -- sim --seed 1.5 --out "$tmp/x"
expect "bad rate" 2 "option '--duplicate-rate' needs a number" -- sim --duplicate-rate 2 --out "$tmp/x"
expect "bad noise" 2 "option '--gps-noise-m'" -- sim --gps-noise-m nan --out "$tmp/x"
expect "unknown option" 2 "unknown option '--speed'" -- sim --speed 3 --out "$tmp/x"
expect "missing value" 2 "option '--out' needs a value" -- sim --out
expect "stray argument" 2 "unexpected argument 'extra'" -- sim --out "$tmp/x" extra

# An unwritable output names the path.
touch "$tmp/file"
expect "out is a file" 3 "cannot create directory '$tmp/file/sub'" -- sim --minutes 1 --out "$tmp/file/sub"
mkdir -p "$tmp/ro" && chmod a-w "$tmp/ro"
if [ ! -w "$tmp/ro" ]; then  # root can write anyway
  expect "read-only dir" 3 "$tmp/ro" -- sim --minutes 1 --out "$tmp/ro"
fi

if [ $failures -eq 0 ]; then echo "sim_test: ok"; else echo "sim_test: $failures failures"; fi
[ $failures -eq 0 ]
