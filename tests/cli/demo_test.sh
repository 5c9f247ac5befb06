#!/usr/bin/env bash
# xiaoxiang demo --headless and xiaoxiang replay, end to end.
set -u
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi; }

"$bin" demo --headless --duration 4 --speed 0 --riders 20 --seed 7 --db "$work/demo.sqlite" >"$work/out" 2>"$work/err"
code=$?
check "demo exits 0" "[ $code -eq 0 ]"
check "demo prints a summary" "grep -q 'xiaoxiang demo summary' '$work/out'"
check "no unexpected rejection" "grep -q ', rejected 0$' '$work/out'"
check "orders were delivered" "grep -Eq 'Completed +已送达 +[1-9]' '$work/out'"
check "the database exists" "[ -s '$work/demo.sqlite' ]"
order=$(sed -n 's/.*--order \([A-Za-z0-9_.:-]*\)$/\1/p' "$work/out")
check "a delivered order is named for replay" "[ -n '$order' ]"
"$bin" replay --db "$work/demo.sqlite" --order "$order" >"$work/replay" 2>&1
check "replay exits 0" "[ $? -eq 0 ]"
check "replay shows the whole lifecycle" "grep -q '1 PendingPayment' '$work/replay' && grep -q '4 Completed' '$work/replay' && grep -q 'position' '$work/replay'"
"$bin" replay --db "$work/demo.sqlite" --order "$order" --format csv >"$work/csv" 2>&1
check "replay csv has a header and versions in order" "head -1 '$work/csv' | grep -q '^version,create_time' && [ \"\$(tail -n +2 '$work/csv' | cut -d, -f1 | sort -n | head -1)\" = 1 ]"

# Ctrl-C (SIGINT) stops cleanly and leaves a consistent database.
"$bin" demo --headless --duration 120 --speed 0 --riders 20 --db "$work/int.sqlite" >"$work/int" 2>&1 &
pid=$!
# Wait until it runs (the database exists), however slow the machine.
for _ in $(seq 1 300); do [ -e "$work/int.sqlite" ] && break; sleep 0.1; done
sleep 1
kill -INT $pid
wait $pid; code=$?
check "SIGINT stops the demo with exit 0" "[ $code -eq 0 ] && grep -q '^stopped.' '$work/int'"
order=$(sed -n 's/.*--order \([A-Za-z0-9_.:-]*\)$/\1/p' "$work/int")
check "the interrupted database replays" "[ -n '$order' ] && '$bin' replay --db '$work/int.sqlite' --order '$order' >/dev/null"

"$bin" demo --duration abc >/dev/null 2>"$work/err"; code=$?
check "bad --duration is a usage error naming the option" "[ $code -eq 2 ] && grep -q -- '--duration' '$work/err'"
"$bin" demo --db /nonexistent/dir/x.sqlite --headless --duration 1 >/dev/null 2>"$work/err"; code=$?
check "missing --db folder is named" "[ $code -eq 2 ] && grep -q '/nonexistent/dir' '$work/err'"
"$bin" demo --help >"$work/help"; check "demo --help" "grep -q 'usage: xiaoxiang demo' '$work/help'"
"$bin" replay --help >"$work/help"; check "replay --help" "grep -q 'usage: xiaoxiang replay' '$work/help'"
"$bin" replay --db "$work/demo.sqlite" --order NOPE >/dev/null 2>"$work/err"; code=$?
check "unknown order is exit 1 naming it" "[ $code -eq 1 ] && grep -q NOPE '$work/err'"
"$bin" replay --db "$work/none.sqlite" --order O1 >/dev/null 2>"$work/err"; code=$?
check "missing database is named" "[ $code -eq 3 ] && grep -q none.sqlite '$work/err'"
"$bin" replay --order 'bad id' --db x >/dev/null 2>"$work/err"; code=$?
check "bad order id names --order" "[ $code -eq 2 ] && grep -q -- '--order' '$work/err'"
"$bin" nosuchcommand >/dev/null 2>&1; code=$?
check "unknown command is a usage error" "[ $code -eq 2 ]"
exit $fail
