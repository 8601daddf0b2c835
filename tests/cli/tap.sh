# tap.sh — TAP helpers shared by the CLI test scripts (sourced, not run).
# The sourcing script sets `n=0 failed=0` and ends with `echo "1..$n"; [ "$failed" -eq 0 ]`.

check() { # check NAME EXPECTED-STATUS PATTERN -- COMMAND...
  local name="$1" want="$2" pattern="$3"
  shift 4
  n=$((n + 1))
  local out status
  out=$("$@" 2>&1)
  status=$?
  if [ "$status" -eq "$want" ] && grep -qE -- "$pattern" <<<"$out"; then
    echo "ok $n - $name"
  else
    failed=$((failed + 1))
    echo "not ok $n - $name (status $status, wanted $want; pattern '$pattern')"
    sed 's/^/# /' <<<"$out" | tail -n 20
  fi
}
