#!/usr/bin/env bash
# tools/fuzz/run-all.sh — build the libFuzzer targets (tests/fuzz/) with clang and run each
# for a given time, one after the other.
#
#   tools/fuzz/run-all.sh [SECONDS-PER-TARGET] [TARGET...]     (default 60 s, every target)
#
# Prints one JSON line per target:
#   {"target": …, "seconds": …, "executions": …, "findings": …, "corpus": …, "artifacts": …}
# findings counts the crash/leak/timeout/OOM inputs libFuzzer wrote to `artifacts`; minimize
# one with `build-fuzz/tests/fuzz/fuzz-NAME -minimize_crash=1 -runs=10000 FILE` and add it to
# tests/fuzz/corpus/NAME/ (replayed by the test suite) once fixed. New coverage-increasing
# inputs go to $TESSERA_FUZZ_WORK/corpus-NAME (not into the repository).
# One process per target at a time (the machines are shared). Environment:
# TESSERA_FUZZ_BUILD_DIR (build-fuzz), TESSERA_FUZZ_WORK (/tmp/tessera-fuzz).
# Exit status 1 when anything was found.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build="${TESSERA_FUZZ_BUILD_DIR:-$here/build-fuzz}"
work="${TESSERA_FUZZ_WORK:-/tmp/tessera-fuzz}"
seconds="${1:-60}"
[ $# -gt 0 ] && shift
case "$seconds" in ''|*[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;; esac

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for d in "$here"/tests/fuzz/corpus/*/; do targets+=("$(basename "$d")"); done
fi

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" "$here" -Dfuzzing=true -Dnative=false >&2
fi
ninja -C "$build" $(printf 'tests/fuzz/fuzz-%s ' "${targets[@]}") >&2

found=0
for name in "${targets[@]}"; do
  bin="$build/tests/fuzz/fuzz-$name"
  corpus="$work/corpus-$name"
  artifacts="$work/findings-$name/"
  mkdir -p "$corpus" "$artifacts"
  before=$(find "$artifacts" -type f | wc -l)
  log="$work/fuzz-$name.log"
  # -rss_limit_mb / -malloc_limit_mb: a hostile file must not make us allocate gigabytes.
  "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=20 \
    -print_final_stats=1 -artifact_prefix="$artifacts" \
    "$corpus" "$here/tests/fuzz/corpus/$name" > "$log" 2>&1 || true
  # No stats when the target died without libFuzzer's handler (a signal it does not catch).
  execs=$({ grep -ho 'stat::number_of_executed_units: *[0-9]*' "$log" || true; } |
          awk '{s += $2} END {print s + 0}')
  after=$(find "$artifacts" -type f | wc -l)
  new=$((after - before))
  found=$((found + new))
  size=$(find "$corpus" -type f | wc -l)
  printf '{"target": "%s", "seconds": %s, "executions": %s, "findings": %s, "corpus": %s, "artifacts": "%s", "log": "%s"}\n' \
    "$name" "$seconds" "$execs" "$new" "$size" "$artifacts" "$log"
done
[ "$found" -eq 0 ]
