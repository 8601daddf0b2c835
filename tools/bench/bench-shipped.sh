#!/bin/bash
# bench-shipped.sh — generation time of the shipped model at its native 128×128 with the
# product's default steps and guidance, against the 0.5-second target (issue 17; issue 6 set 1 s).
#
#   tools/bench/bench-shipped.sh [BUILD_DIR] [DEVICE] [RUNS]     (defaults: build, cpu, 7)
#
# Each run is one `tessera-cli generate` process with a different seed; the figures are the
# CLI's own timings ("total": text encode + sampling + decode; "with load": plus loading the
# model) and the whole process's wall time. Prints one JSON line with the medians.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
device=${2:-cpu}
runs=${3:-7}
model=${TESSERA_SHIPPED_MODEL:-$src/data/models/tessera-emoji-128}
cli=$build/app/cli/tessera-cli
work=$(mktemp -d /tmp/tessera-bench-shipped.XXXXXX)
trap 'rm -rf "$work"' EXIT
[ -x "$cli" ] || { echo "bench-shipped: build tessera-cli in $build first" >&2; exit 2; }
[ -f "$model/model_index.json" ] || { echo "bench-shipped: no model in $model" >&2; exit 2; }

machine="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) cores"
: >"$work/times"
for i in $(seq 1 "$runs"); do
  t0=$(date +%s.%N)
  LC_ALL=C "$cli" generate -m "$model" -d "$device" -p "red apple, 3d style" --seed "$i" \
    -o "$work/out.png" >/dev/null 2>"$work/log" || { cat "$work/log" >&2; exit 1; }
  t1=$(date +%s.%N)
  # "... total F s (G s with the model load)"
  total=$(sed -n 's/.*total \([0-9.]*\) s (\([0-9.]*\) s with.*/\1 \2/p' "$work/log" | tail -1)
  echo "$total $(echo "$t1 - $t0" | bc)" >>"$work/times"
done
median () { sort -n | awk '{ v[NR] = $1 } END { printf "%.3f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
total=$(cut -d' ' -f1 "$work/times" | median)
loaded=$(cut -d' ' -f2 "$work/times" | median)
process=$(cut -d' ' -f3 "$work/times" | median)
printf '{"bench":"shipped-generate","machine":"%s","device":"%s","runs":%s,"model":"%s",' \
  "$machine" "$device" "$runs" "$(basename "$model")"
printf '"median_total_s":%s,"median_with_load_s":%s,"median_process_s":%s,"target_s":0.5,' \
  "$total" "$loaded" "$process"
printf '"meets_target":%s,"load_average":"%s"}\n' \
  "$(awk -v t="$total" 'BEGIN { print (t <= 0.5) ? "true" : "false" }')" "$(cut -d' ' -f1-3 /proc/loadavg)"
