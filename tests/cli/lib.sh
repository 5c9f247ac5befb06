# Helpers shared by the CLI tests (sourced, not run): `fail` counts a
# failure, `expect` runs the tool and checks its exit code and stderr.
# The sourcing script sets $bin (the xiaoxiang binary), $tmp (a scratch
# folder) and failures=0, and exits with $((failures > 0)) at the end.

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect <name> <expected exit> <stderr pattern> -- args...
# (stdin is empty; stdout lands in $tmp/out, stderr in $tmp/err)
expect() {
  local name=$1 code=$2 want_err=$3
  shift 4
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local got=$?
  [ "$got" -eq "$code" ] || fail "$name: exit $got, expected $code (stderr: $(head -c 300 "$tmp/err"))"
  if [ -n "$want_err" ] && ! grep -qE -- "$want_err" "$tmp/err"; then
    fail "$name: stderr '$(head -c 300 "$tmp/err")' does not match '$want_err'"
  fi
}
