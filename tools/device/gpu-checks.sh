#!/usr/bin/env bash
# tools/device/gpu-checks.sh — every Vulkan check and benchmark in one command, for the first
# minutes on a lent GPU machine (docs/gpu.md says how to call it through `device run`).
#
#   tools/device/gpu-checks.sh [--quick] [--only tests,bench,e2e] [--bundle DIR] [--icd JSON]
#                              [--budget S]
#
# Runs the bundle built by make-bundle.sh (default: the pieces in device-bundle/, else the
# staged build-bundle/stage/tessera-bundle). In order:
#   setup   unpack the bundle; bring the Vulkan loader when the system has none (the device
#           README's recipe); choose the driver (NVIDIA's where it is, else lavapipe)
#   info    tessera-cli info (device report), nvidia-smi when there is one
#   tests   with the Khronos validation layer: every Vulkan test program (runtime, ops, ops
#           through the fallback paths, heavy ops, reliability's Vulkan part) and the goldens
#           on Vulkan (networks in f32 and f16 weights, pipelines); in parallel where the
#           machine has the cores
#   e2e     without it: tessera-cli generate and inpaint at 256² and 512² on
#           amused-256/512-shaped folders with random f16 and f32 weights (written here by
#           tessera-model-bench while the tests run), 12 steps with guidance, timed warm; the
#           shipped model's 128² generate
#   bench   tessera-bench ops and models on Vulkan (amused-256/512 shapes, random f16 and
#           f32 weights); the matrix products with each kernel variant forced (tiles; the
#           cooperative-matrix kernel off)
# Every part has its own time limit, and all of them a deadline (--budget, default 470 s of
# the device's 8 minutes; 3600 with --quick), so that one hang cannot eat the lease. Results go to $OUT (at most
# 8 files: summary.json, table.txt, info.txt, checks.log, bench-ops.jsonl, bench-models.jsonl,
# e2e.jsonl), else to build-bundle/gpu-checks/; the table is printed last.
#
# --quick: small shapes and a subset of the tests, for lavapipe (a CI-sized smoke run).
# --only: just these sections (setup and info always run): for a second, shorter call that
# repeats what failed in the first.
# TESSERA_CHECKS_SYNTH_FROM=DIR: write the random-weight e2e folders from DIR's configs (a
# tiny model, e.g. goldens/tiny-amused) to try the full run's e2e flow on lavapipe;
# TESSERA_CHECKS_STEPS=N: sampling steps of those runs (default 12, the targets' count).
set -uo pipefail   # not -e: a failing part is recorded and the next one runs

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
t_start=$(date +%s)
quick=0 bundle="" icd="" budget="" only=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --bundle) bundle=$2; shift ;;
    --icd) icd=$2; shift ;;
    --budget) budget=$2; shift ;;
    --only) only=$2; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "gpu-checks: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
# The device's default leaves 10 s of its 8 minutes; lavapipe here has no lease to protect.
[ -n "$budget" ] || { [ "$quick" = 1 ] && budget=3600 || budget=470; }
deadline=$((t_start + budget))
wanted () { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }
out=${OUT:-$src/build-bundle/gpu-checks}
mkdir -p "$out"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/tessera-gpu-checks.XXXXXX")
# Every background subshell below starts with `trap - EXIT`: one killed by a signal would
# otherwise run this trap and delete the scratch folder under the running parts.
trap 'rm -rf "$scratch"' EXIT
log=$out/checks.log
: >"$log"
results=$scratch/results.tsv   # part, status, seconds, detail
: >"$results"

say () { printf '[%4ds] %s\n' $(($(date +%s) - t_start)) "$*" | tee -a "$log" >&2; }
record () { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$results"; }

# limit WANTED: the seconds a part may take — what it asks for, less what the deadline leaves
# (keeping 15 s for the summary). 0: no time left, skip it.
limit () {
  local left=$((deadline - $(date +%s) - 15))
  [ "$left" -lt 5 ] && { echo 0; return; }
  [ "$1" -lt "$left" ] && echo "$1" || echo "$left"
}

# part NAME WANTED_SECONDS OUTFILE CMD…: runs CMD under its limit, output to OUTFILE (and a
# header in the log); records pass/fail/timeout with the TAP counts when there are any.
part () {
  local name=$1 want=$2 file=$3; shift 3
  local lim; lim=$(limit "$want")
  if [ "$lim" = 0 ]; then
    say "$name: skipped, no time left"
    record "$name" skipped 0 "no time left"
    return 1
  fi
  say "$name: start (limit ${lim}s)"
  local t0; t0=$(date +%s)
  timeout -k 5 "$lim" "$@" >"$file" 2>&1
  local rc=$? dt=$(($(date +%s) - t0)) status detail
  local ok nok skip
  ok=$(grep -c '^ok ' "$file"); nok=$(grep -c '^not ok ' "$file")
  skip=$(grep -c '^ok .*# SKIP' "$file")
  # Messages of the validation layer (vk-device.c prints each as "[Vulkan error|warning] …"):
  # any one fails the part, also in programs that do not count them themselves (goldens).
  local vmsg; vmsg=$(grep -c '^\[Vulkan \(error\|warning\)\]' "$file")
  detail=""
  [ $((ok + nok)) -gt 0 ] && detail="$((ok - skip)) passed, $nok failed, $skip skipped"
  [ "$vmsg" -gt 0 ] && detail="${detail:+$detail, }$vmsg validation messages"
  if [ $rc = 124 ] || [ $rc = 137 ]; then status=timeout
  elif [ $rc = 0 ] && [ "$nok" = 0 ] && [ "$vmsg" = 0 ]; then status=pass
  else status="fail(rc=$rc)"
  fi
  record "$name" "$status" "$dt" "$detail"
  say "$name: $status in ${dt}s${detail:+ ($detail)}"
  { echo "===== $name: $status in ${dt}s: $*"; tail -c 2000000 "$file"; } >>"$log"
  [ "$status" = pass ]
}

# ---------------------------------------------------------------- setup
if [ -z "$bundle" ]; then
  if ls "$src"/device-bundle/*.tar.xz >/dev/null 2>&1; then
    bundle=$src/device-bundle
  else
    bundle=$src/build-bundle/stage/tessera-bundle
  fi
fi
if [ -d "$bundle" ] && [ -x "$bundle/bin/tessera-cli" ]; then
  B=$(cd "$bundle" && pwd)          # a staged (unpacked) bundle: used in place
else
  say "setup: unpacking $bundle"
  for piece in "$bundle"/*.tar.xz; do
    # xz(1) may be missing on a bare image; Python's lzma is there wherever python3 is.
    if command -v xz >/dev/null; then
      tar -C "$scratch" -xJf "$piece"
    else
      python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$piece" "$scratch"
    fi || { say "setup: cannot unpack $piece"; exit 1; }
  done
  B=$scratch/tessera-bundle
fi
[ -x "$B/bin/tessera-cli" ] || { say "setup: no bundle at $bundle (run tools/device/make-bundle.sh)"; exit 1; }
head -4 "$B/bundle.txt" | sed 's/^/  /' | tee -a "$log" >&2

# has_lib NAME: the dynamic loader's cache knows NAME. (grep -c, not -q: -q would stop reading
# early, and ldconfig's SIGPIPE would fail the pipeline under pipefail.)
has_lib () { ldconfig -p 2>/dev/null | grep -c "$1" >/dev/null; }

# The loader: the device README's recipe where the system has none (it runs as root there).
if ! has_lib 'libvulkan\.so\.1' && [ ! -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "setup: no Vulkan loader on this system: unpacking the bundle's .debs into /"
    for f in "$B"/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
  else
    say "setup: no Vulkan loader on this system: using the bundle's .debs from $scratch/sysroot"
    for f in "$B"/debs/*.deb; do dpkg -x "$f" "$scratch/sysroot"; done
    export LD_LIBRARY_PATH=$scratch/sysroot/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fi
fi
# The C++ runtime (for the validation layer) only where the system has none: a newer one wins.
if ! has_lib 'libstdc++\.so\.6'; then
  export LD_LIBRARY_PATH=$B/lib/cxx${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

# nvidia-smi lives with the driver there, which need not be on the PATH.
command -v nvidia-smi >/dev/null || { [ -x /usr/local/nvidia/bin/nvidia-smi ] && PATH=$PATH:/usr/local/nvidia/bin; }

# The driver: NVIDIA's manifest where the device README says it is, else lavapipe.
if [ -z "$icd" ]; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
           /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/lvp_icd.x86_64.json; do
    [ -f "$f" ] && { icd=$f; break; }
  done
fi
[ -n "$icd" ] || { say "setup: no Vulkan driver manifest found (give one with --icd)"; exit 1; }
export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
[ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] &&
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
mkdir -p "$scratch/cache" "$scratch/home"
# shellcheck source=tools/device/bundle-env.sh
. "$src/tools/device/bundle-env.sh"
# (Not its PATH, meant for env -i: python3 and nvidia-smi may live elsewhere on the device.)
while IFS= read -r kv; do
  [[ $kv == PATH=* ]] || export "${kv?}"
done < <(bundle_env "$B" "$scratch")
if [ "$quick" = 1 ]; then
  # Here, keep lavapipe's shader cache and our pipeline cache between runs: compiling the
  # shaders again costs minutes on a shared core. (The device starts bare either way.)
  export XDG_CACHE_HOME=$src/build-bundle/gpu-checks-cache
  mkdir -p "$XDG_CACHE_HOME"
fi
export TESSERA_DEVICE=vulkan
say "setup: driver $icd"

cores=$(nproc)
if [ "$cores" -ge 8 ]; then
  # Several test programs at once, two threads each for their CPU references.
  export OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2
  parallel=1
else
  parallel=0
fi
[ "$quick" = 1 ] && export LP_NUM_THREADS=${LP_NUM_THREADS:-$cores}
bin=$B/bin

# ---------------------------------------------------------------- info
{
  echo "host: $(uname -srm), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $cores cores"
  echo "bundle: $(sed -n 's/^commit: //p' "$B/bundle.txt")"
  command -v nvidia-smi >/dev/null &&
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
} >"$out/info.txt" 2>&1
part info 30 "$scratch/info.out" "$bin/tessera-cli" info
cat "$scratch/info.out" >>"$out/info.txt"
TESSERA_VK_VALIDATION=1 part info-validation 30 "$scratch/info-val.out" "$bin/tessera-cli" info
grep -q 'validation yes' "$scratch/info-val.out" ||
  say "info: the validation layer did not load (see checks.log): the tests below report it"
if grep -q '(CPU)' "$scratch/info.out" && [ "$quick" = 0 ]; then
  say "info: the chosen device is a CPU (lavapipe), not a GPU: add --quick, or check the driver"
fi

# ---------------------------------------------------------------- e2e models (written early)
# The random-weight folders take a while to write: start them now, in the background, on
# memory-backed storage where there is room (12 GB for the four full-size folders) and the
# machine has memory to spare (the device: 128 GB).
models=$scratch/models
mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
if [ "$quick" = 0 ] && [ -d /dev/shm ] && [ "$mem_kb" -gt 64000000 ] &&
   [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -gt 14000000 ]; then
  models=$(mktemp -d /dev/shm/tessera-models.XXXXXX)
  trap 'rm -rf "$scratch" "$models"' EXIT
fi
mkdir -p "$models"
synth_pid=""
if [ "$quick" = 0 ] && wanted e2e; then
  (
    trap - EXIT   # the scratch folder is the main shell's (see its trap)
    for size in 256 512; do for dt in f16 f32; do
      "$bin/tessera-model-bench" synth "${TESSERA_CHECKS_SYNTH_FROM:-$B/fixtures/amused-$size}" \
        "$models/amused-$size-$dt" \
        --tokenizer "$B/goldens/tiny-amused/tokenizer" --dtype "$dt" || exit 1
    done; done
  ) >"$scratch/synth.out" 2>&1 &
  synth_pid=$!
fi

# ---------------------------------------------------------------- tests (validation layer on)
fallback_env=(TESSERA_VK_DISABLE_SUBGROUP=1 TESSERA_VK_DISABLE_PUSH_DESCRIPTOR=1
              TESSERA_VK_FORCE_STAGING=1 TESSERA_VK_DISPATCHES_PER_SUBMIT=1)
# reliability: its Vulkan cases only (the CPU ones run in CI).
mapfile -t rel_paths < <("$bin/test-reliability" -l 2>/dev/null | grep '^/reliability/vulkan')
rel_args=(); for p in "${rel_paths[@]}"; do rel_args+=(-p "$p"); done
if [ "$quick" = 1 ]; then
  # lavapipe: one or two cases of each program, still under the validation layer. The limits
  # are for a shared 2-core machine (ops-vulkan's three cases took 115 s on one niced core).
  tests=(
    "vk-runtime|300|$bin/test-vk-runtime"
    "ops-vulkan|400|$bin/test-ops-vulkan -p /vulkan/ops/add-mul -p /vulkan/ops/half-inputs"
    "ops-vulkan-fallbacks|400|env ${fallback_env[*]} $bin/test-ops-vulkan -p /vulkan/ops/add-mul -p /vulkan/ops/layer-norm"
    "vk-heavy|400|$bin/test-ops-vulkan -p /vulkan/heavy/matmul/reg -p /vulkan/heavy/attention/reg"
    "goldens-vulkan|400|$bin/test-nn-goldens -p /goldens/vulkan/transformer_512path_cfg_8x8 -p /goldens/vulkan/f16/transformer_512path_cfg_8x8 -p /goldens/vulkan/vq_decode_random_2x6x10"
    "pipeline-goldens-vulkan|400|$bin/test-pipeline-goldens -p /pipeline-goldens/vulkan/generate_cfg_128x128"
    "reliability-vulkan|400|$bin/test-reliability -p /reliability/vulkan-validation-clean"
  )
else
  tests=(
    "vk-runtime|90|$bin/test-vk-runtime"
    "ops-vulkan|150|$bin/test-ops-vulkan --only=simple"
    "ops-vulkan-fallbacks|150|env ${fallback_env[*]} $bin/test-ops-vulkan --only=simple"
    "vk-heavy|150|$bin/test-ops-vulkan --only=heavy"
    "goldens-vulkan|180|$bin/test-nn-goldens -p /goldens/vulkan -p /goldens/vulkan/f16"
    "pipeline-goldens-vulkan|150|$bin/test-pipeline-goldens -p /pipeline-goldens/vulkan"
    "reliability-vulkan|120|$bin/test-reliability ${rel_args[*]}"
  )
fi
run_test () { # "name|seconds|command" (the command is split on spaces: no spaces in paths)
  local name=${1%%|*} rest=${1#*|}
  local want=${rest%%|*} cmd=${rest#*|}
  # shellcheck disable=SC2086
  TESSERA_VK_VALIDATION=1 part "$name" "$want" "$scratch/$name.out" $cmd
}
if ! wanted tests; then
  :
elif [ "$parallel" = 1 ]; then
  say "tests: ${#tests[@]} programs in parallel, validation layer on"
  for t in "${tests[@]}"; do ( trap - EXIT; run_test "$t" ) & done
  wait
else
  for t in "${tests[@]}"; do run_test "$t"; done
fi

# ---------------------------------------------------------------- end to end (no validation)
# Before the benchmarks: the per-image times are the figures a short lease is for.
unset TESSERA_VK_VALIDATION
unset OPENBLAS_NUM_THREADS OMP_NUM_THREADS
: >"$out/e2e.jsonl"
# mask_for IMAGE MASK: an inpainting mask of IMAGE's size (read from its PNG header), white
# over the middle third (the standard library writes the PNG).
mask_for () {
  python3 - "$1" "$2" <<'EOF'
import struct, sys, zlib
w, h = struct.unpack(">II", open(sys.argv[1], "rb").read(24)[16:24])
rows = b"".join(b"\0" + bytes(255 if w // 3 <= x < 2 * w // 3 and h // 3 <= y < 2 * h // 3 else 0
                               for x in range(w)) for y in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[2], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
EOF
}

e2e_limit=90
[ "$quick" = 1 ] && e2e_limit=400

# GPU memory in use, sampled while a command runs (nvidia-smi, where there is one): the peak
# over the baseline before it.
gpu_mem () { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits 2>/dev/null | head -1; }

# e2e LABEL SIDE MODEL_DIR MODE [ARGS…]: one timed CLI run; one JSON line.
e2e () {
  local label=$1 side=$2 model=$3 mode=$4; shift 4
  local o=$scratch/e2e-$label.out base="" poller="" peak=""
  if command -v nvidia-smi >/dev/null; then
    base=$(gpu_mem)
    (trap - EXIT; while :; do gpu_mem; sleep 0.1; done) >"$scratch/mem-$label" 2>/dev/null &
    poller=$!
  fi
  part "e2e-$label" "$e2e_limit" "$o" "$bin/tessera-cli" "$mode" --model "$model" --seed 1 \
    -o "$scratch/$label.png" "$@"
  local ok=$?
  if [ -n "$poller" ]; then
    kill "$poller" 2>/dev/null; wait "$poller" 2>/dev/null
    peak=$(sort -n "$scratch/mem-$label" | tail -1)
  fi
  # "generate on DEVICE: 12 steps; text 0.01 s, image encode 0.00 s, sampling 0.20 s, decode
  #  0.02 s, composite 0.00 s; total 0.25 s (1.10 s with the model load)"
  python3 - "$o" "$label" "$side" "$mode" "$ok" "${base:-}" "${peak:-}" >>"$out/e2e.jsonl" <<'EOF'
import json, re, sys
path, label, side, mode, ok, base, peak = sys.argv[1:]
text = open(path, errors="replace").read()
m = re.search(r"on (.*?): (\d+) steps; text ([\d.]+) s, image encode ([\d.]+) s, sampling ([\d.]+) s, "
              r"decode ([\d.]+) s, composite ([\d.]+) s; total ([\d.]+) s \(([\d.]+) s", text)
r = {"e2e": label, "mode": mode, "side": int(side), "ok": ok == "0"}
if m:
    r.update(device=m[1], steps=int(m[2]), text_s=float(m[3]), image_encode_s=float(m[4]),
             sampling_s=float(m[5]), decode_s=float(m[6]), composite_s=float(m[7]),
             total_s=float(m[8]), with_load_s=float(m[9]))
if base and peak:
    r["gpu_mem_peak_mib"] = int(peak) - int(base)
note = re.search(r"(?:note|warning): (.*)", text)   # a fallback the pipeline took
if note:
    r["note"] = note[1]
print(json.dumps(r))
EOF
  return $ok
}

shipped=$B/models/tessera-emoji-128
[ -f "$shipped/model_index.json" ] || shipped=$src/data/models/tessera-emoji-128
if ! wanted e2e; then
  :
elif [ "$quick" = 1 ]; then
  e2e shipped-128-gen 128 "$shipped" generate -p "red apple, 3d style" --steps 2
  e2e shipped-128-gen-warm 128 "$shipped" generate -p "red apple, 3d style" --steps 2 &&
    mask_for "$scratch/shipped-128-gen-warm.png" "$scratch/mask-shipped.png" &&
    e2e shipped-128-inpaint 128 "$shipped" inpaint "$scratch/shipped-128-gen-warm.png" \
      --mask "$scratch/mask-shipped.png" -p "cat face, 3d style" --steps 2
else
  steps=(--steps "${TESSERA_CHECKS_STEPS:-12}")
  e2e shipped-128-gen 128 "$shipped" generate -p "red apple, 3d style" "${steps[@]}"
  if [ -n "$synth_pid" ]; then
    lim=$(limit 120)
    say "e2e: waiting up to ${lim}s for the random-weight folders"
    until_t=$(($(date +%s) + lim))
    while kill -0 "$synth_pid" 2>/dev/null && [ "$(date +%s)" -lt "$until_t" ]; do sleep 1; done
    kill "$synth_pid" 2>/dev/null
    wait "$synth_pid"; synth_rc=$?
    { echo "===== synth (rc $synth_rc)"; cat "$scratch/synth.out"; } >>"$log"
    record synth-models "$([ $synth_rc = 0 ] && echo pass || echo "fail(rc=$synth_rc)")" 0 \
      "$(du -sh "$models" 2>/dev/null | cut -f1) in $models"
  fi
  for size in 256 512; do for dt in f16 f32; do
    m=$models/amused-$size-$dt
    [ -f "$m/model_index.json" ] || { record "e2e-$size-$dt" skipped 0 "no model folder"; continue; }
    # The first run compiles the pipelines (kept in the pipeline cache); the second is timed warm.
    e2e "$size-$dt-gen-first" "$size" "$m" generate -p "a lighthouse at dusk" "${steps[@]}"
    e2e "$size-$dt-gen" "$size" "$m" generate -p "a lighthouse at dusk" "${steps[@]}" &&
      mask_for "$scratch/$size-$dt-gen.png" "$scratch/mask-$size-$dt.png" &&
      e2e "$size-$dt-inpaint" "$size" "$m" inpaint "$scratch/$size-$dt-gen.png" \
        --mask "$scratch/mask-$size-$dt.png" -p "a red boat" "${steps[@]}"
  done; done
fi

# ---------------------------------------------------------------- benchmarks (no validation)
# Limits: lavapipe on a shared core needs minutes where the GPU needs seconds.
if [ "$quick" = 1 ]; then
  bench_args=(--quick --min-seconds 0.05) ops_limit=400 variant_limit=200 models_limit=600
else
  bench_args=(--min-seconds 0.3) ops_limit=100 variant_limit=40 models_limit=150
fi
if wanted bench; then
  part bench-ops "$ops_limit" "$out/bench-ops.jsonl" "$bin/tessera-bench" ops --backend vulkan "${bench_args[@]}"
  # The matrix products (bench op "linear*") once more with each variant forced, so that a
  # variant that wins only on the GPU shows up: each shared-memory tiling of the f32/bf16
  # GEMM (TESSERA_VK_GEMM_TILE), and the f16-weight GEMM without the cooperative-matrix
  # kernel (TESSERA_VK_DISABLE_COOPMAT: the plain run above uses it where the device has
  # VK_NV_cooperative_matrix).
  if [ "$quick" = 1 ]; then variants=(tile1 coopmat-off); else variants=(tile0 tile1 tile2 coopmat-off); fi
  for v in "${variants[@]}"; do
    case $v in
      tile*) venv=(TESSERA_VK_GEMM_TILE=${v#tile}) ;;
      coopmat-off) venv=(TESSERA_VK_DISABLE_COOPMAT=1) ;;
    esac
    part "bench-linear-$v" "$variant_limit" "$scratch/$v.jsonl" env "${venv[@]}" \
      "$bin/tessera-bench" ops --backend vulkan --filter linear "${bench_args[@]}"
    sed "s/^{/{\"variant\":\"$v\",/" "$scratch/$v.jsonl" | grep '"linear' >>"$out/bench-ops.jsonl"
  done
  # On lavapipe even the quick model shapes take many minutes but the text encoder's.
  models_args=("${bench_args[@]}")
  [ "$quick" = 1 ] && models_args+=(--filter text_encode)
  # Random weights in f16 (the product's configuration, first) and f32; lavapipe: f16 only.
  if [ "$quick" = 1 ]; then model_weights=(f16); else model_weights=(f16 f32); fi
  : >"$out/bench-models.jsonl"
  for w in "${model_weights[@]}"; do
    part "bench-models-$w" "$models_limit" "$scratch/models-$w.jsonl" \
      "$bin/tessera-bench" models --backend vulkan --weights "$w" "${models_args[@]}"
    sed "s/^{/{\"weights\":\"$w\",/" "$scratch/models-$w.jsonl" >>"$out/bench-models.jsonl"
  done
fi

# ---------------------------------------------------------------- summary
python3 - "$results" "$out" "$(($(date +%s) - t_start))" "$quick" <<'EOF'
import json, os, sys
results, out, wall, quick = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
parts = []
for line in open(results):
    name, status, secs, detail = line.rstrip("\n").split("\t")
    parts.append({"part": name, "status": status, "seconds": int(secs), "detail": detail})
def jl(name):
    p = os.path.join(out, name)
    rows = []
    if os.path.exists(p):
        for l in open(p):
            try: rows.append(json.loads(l))
            except ValueError: pass
    return rows
ops, models, e2e = jl("bench-ops.jsonl"), jl("bench-models.jsonl"), jl("e2e.jsonl")
info = open(os.path.join(out, "info.txt")).read().splitlines()
summary = {"wall_seconds": wall, "quick": quick, "parts": parts, "bench_ops": ops,
           "bench_models": models, "e2e": e2e, "info": info}
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=1)

lines = []
add = lines.append
add(f"gpu-checks{' --quick' if quick else ''}: {wall} s wall")
for l in info:   # the host, the card (nvidia-smi), the Vulkan devices and the one chosen
    if (l.startswith(("host:", "bundle:", "Chosen backend")) or "Vulkan device:" in l
            or "cooperative matrix" in l or "NVIDIA" in l):
        add("  " + l.strip())
add("")
add(f"{'part':34} {'status':14} {'s':>5}  detail")
for p in parts:
    add(f"{p['part']:34} {p['status']:14} {p['seconds']:>5}  {p['detail']}")
peak = next((r for r in ops if r.get("bench") == "peak" and "fma_gflops" in r), None)
if peak:
    add("")
    add(f"vulkan peak: fma {peak['fma_gflops']:.0f} GFLOP/s, copy {peak['copy_gbps']:.1f} GB/s")
mm = [r for r in ops if "linear" in str(r.get("op", r.get("case", ""))) and "gflops" in r]
if mm:
    add("matrix products (per op, shape and variant; auto = the kernel the device gets):")
    best = {}
    for r in mm:
        k = (f"{r.get('op', r.get('case'))} {r.get('shape', '')}".strip(), r.get("variant", "auto"))
        if k not in best or r["gflops"] > best[k]["gflops"]:
            best[k] = r
    for (op, tile), r in sorted(best.items(), key=lambda kv: str(kv[0])):
        ratio = r.get("peak_ratio")
        add(f"  {str(op):34} {str(tile):11} {r['gflops']:9.1f} GFLOP/s"
            + (f"  {100 * ratio:5.1f} % of the FMA peak" if isinstance(ratio, (int, float)) else ""))
mrows = [r for r in models if r.get("bench") in ("model", "pipeline_memory")]
if mrows:
    add("models (random weights):")
    for r in mrows:
        if "error" in r:
            add(f"  {r.get('case'):18} {r.get('weights', ''):4} error: {r['error'][:60]}")
        elif r["bench"] == "model":
            add(f"  {r['case']:18} {r.get('weights', ''):4} {r['seconds'] * 1e3:9.1f} ms"
                f"  {r['gflops']:9.1f} GFLOP/s  {r['pct_of_peak']:5.1f} % of peak")
        else:
            add(f"  {r['case']:18} {r.get('weights', ''):4} {r['seconds_per_run']:9.2f} s/run"
                f" (2 steps, batch 2)  tensor peak {r['tensor_peak_mib']:.0f} MiB")
if e2e:
    add("end to end (tessera-cli; warm = second run):")
    for r in e2e:
        if "total_s" in r:
            mem = f"  GPU +{r['gpu_mem_peak_mib']} MiB" if "gpu_mem_peak_mib" in r else ""
            add(f"  {r['e2e']:24} {r['side']:4}²  {r['steps']:2} steps  sampling {r['sampling_s']:7.2f} s"
                f"  total {r['total_s']:7.2f} s  (+load {r['with_load_s'] - r['total_s']:.2f} s){mem}")
            if "note" in r:
                add(f"    warning: {r['note'][:100]}")
        else:
            add(f"  {r['e2e']:24} failed")
bad = [p for p in parts if p["status"] not in ("pass", "skipped")]
add("")
add("result: " + ("all parts passed" if not bad else "FAILED: " + ", ".join(p["part"] for p in bad)))
open(os.path.join(out, "table.txt"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
sys.exit(1 if bad else 0)
EOF
