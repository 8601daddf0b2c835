# tap.sh — TAP helpers shared by the CLI test scripts (sourced, not run).
# The sourcing script sets `n=0 failed=0` (or calls goldens_setup) and ends with
# `echo "1..$n"; [ "$failed" -eq 0 ]`.

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

# goldens_setup CLI GOLDENS-DIR [TINY-MODEL-DIR]: the start of the scripts that run on the
# goldens' tiny model. Sets cli, goldens, model (default GOLDENS-DIR/tiny-amused), n, failed
# and tmp (a folder removed on exit), and runs on the CPU so the outputs do not depend on a
# GPU being there; without the model the whole script is skipped (TAP 1..0), not failed, so a
# clone without the goldens checkout passes.
goldens_setup() {
  cli="$1"
  goldens="$2"
  model="${3:-$goldens/tiny-amused}"
  n=0
  failed=0
  if [ ! -d "$model" ]; then
    echo "1..0 # SKIP no goldens tiny model at $model"
    exit 0
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  export TESSERA_DEVICE=cpu
}
