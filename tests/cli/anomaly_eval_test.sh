#!/usr/bin/env bash
# xiaoxiang anomaly-eval: the engine's alerts scored on the simulator's
# ground truth, with the goals checked (--check), plus usage errors.
set -u
bin=$1
fail() { echo "FAIL: $*"; exit 1; }

out=$("$bin" anomaly-eval --help) || fail "--help exited non-zero"
grep -q "usage: xiaoxiang anomaly-eval" <<<"$out" || fail "--help text"

out=$("$bin" anomaly-eval --seed 1 --riders 200 --hours 4 --check 2>&1)
status=$?
echo "$out"
[ $status -eq 0 ] || fail "--check: goals not met (exit $status)"
for kind in routeDeviation standstill deliveryTimeout riderSilent; do
  grep -q "^$kind " <<<"$out" || fail "no row for $kind"
done
# Every kind had something to find: a run that raised nothing would pass
# trivially otherwise.
awk '/^(routeDeviation|standstill|deliveryTimeout|riderSilent) / { if ($2 < 5 || $3 < 4) bad = 1 } END { exit bad }' <<<"$out" \
  || fail "too few ground-truth rows or detections"

err=$("$bin" anomaly-eval --riders 0 2>&1 >/dev/null); status=$?
[ $status -eq 2 ] || fail "--riders 0: exit $status"
grep -q -- "--riders" <<<"$err" || fail "--riders 0: message names the option: $err"
err=$("$bin" anomaly-eval --hours abc 2>&1 >/dev/null); status=$?
[ $status -eq 2 ] || fail "--hours abc: exit $status"
echo "anomaly-eval: ok"
