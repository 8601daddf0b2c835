#!/usr/bin/env bash
# peer-bench.sh — Tessera against the real diffusers pipeline, interleaved on one machine in
# one run, each run started only once the machine is quiet; JSON lines with the ratios and
# both sgemm peaks measured in the same run. No peer figure is stored anywhere: every ratio
# is measured here and now.
#
#   tools/bench/peer/peer-bench.sh [--size tiny|256|512] [--rounds N] [--steps N]
#       [--guidance G] [--variants LIST] [--fast] [--max-load L] [--max-wait S] [--no-wait]
#       [--build DIR] [--peer-src DIR] [--work DIR] [--peer-threads N]
#
# Each round runs the peer once and then every Tessera variant of --variants (comma list,
# default "exact"): exact (f32), fast (--fast), bf16, int8 (--precision), bf16-fast, int8-fast.
# --fast alone means --variants fast. Each line has the whole run's ratio and the VQ decode's
# (decode_ratio: Tessera's decode stage against the peer's vqvae.decode, timed in that run).
#
# The peer's sources are not in this repository. Put them in one folder (or name it with
# TESSERA_PEER_SRC / --peer-src) as diffusers/, transformers/ and huggingface_hub/:
#   diffusers v0.27.2, transformers at the v4.38 branch point (commit e770f0316d2a, the one
#   the goldens used), huggingface_hub v0.20.3, e.g. from git clones:
#     git -C diffusers.git archive --prefix=diffusers/ v0.27.2 | tar -x -C "$TESSERA_PEER_SRC"
#     git -C transformers.git archive --prefix=transformers/ e770f0316d2a | tar -x -C ...
#     git -C huggingface_hub.git archive --prefix=huggingface_hub/ v0.20.3 | tar -x -C ...
# and Debian's python3-torch, python3-numpy, python3-pil, python3-regex, python3-requests,
# python3-filelock, python3-fsspec, python3-yaml, python3-tqdm, python3-packaging,
# python3-typing-extensions (apt). Without transformers/ (too large to fetch here; Debian 12
# packages neither it nor safetensors) the stand-ins of shim/ take their place (shim/README.md).
#
# --size tiny runs the goldens' tiny model (seconds; proves the plumbing). 256/512 make random
# weights at the published config with the peer (needs transformers) once into --work, and
# both sides load that same folder.
# --peer-threads N sets torch's intra-op threads (default: torch's own choice, which is one
# on the 2-core machine this was measured on; its GEMMs run on OpenBLAS's threads either way).
# Quiet: the 1-minute load average below --max-load (default 0.5) before each run, waiting at
# most --max-wait seconds (default 900; then the run goes ahead with "quiet":false).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
size=256 rounds=2 steps=12 guidance=10 variants="" max_load=0.5 max_wait=900 wait_quiet=1
peer_threads=0
build="$root/build" peer_src="${TESSERA_PEER_SRC:-}" work="${TMPDIR:-/tmp}/tessera-peer-bench"
python=/usr/bin/python3
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --steps) steps=$2; shift ;;
    --guidance) guidance=$2; shift ;;
    --fast) variants="${variants:+$variants,}fast" ;;
    --variants) variants=$2; shift ;;
    --max-load) max_load=$2; shift ;;
    --max-wait) max_wait=$2; shift ;;
    --no-wait) wait_quiet=0 ;;
    --build) build=$2; shift ;;
    --peer-src) peer_src=$2; shift ;;
    --work) work=$2; shift ;;
    --peer-threads) peer_threads=$2; shift ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//; /^set -e/d'; exit 0 ;;
    *) echo "peer-bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

cli="$build/app/cli/tessera-cli" bench="$build/tools/bench/tessera-bench"
for f in "$cli" "$bench"; do
  [ -x "$f" ] || { echo "peer-bench: $f is missing: build first (or --build DIR)" >&2; exit 2; }
done
mkdir -p "$work"

json_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr '\n' ' ')"; }

# The peer's sources: a note and no peer runs when they are not all there.
peer_ok=1 missing=""
for d in diffusers huggingface_hub; do
  [ -n "$peer_src" ] && [ -d "$peer_src/$d/src" ] || { peer_ok=0; missing="$missing $d"; }
done
if [ $peer_ok = 0 ]; then
  echo "{\"bench\":\"peer\",\"error\":$(json_str "peer sources missing:$missing (TESSERA_PEER_SRC=${peer_src:-unset}); see the head of $0 for how to get them")}"
fi
PYTHONPATH="$peer_src/diffusers/src:$peer_src/huggingface_hub/src"
# transformers and safetensors: the real ones where there are, else the stand-ins of shim/
# (Debian 12 packages neither; shim/README.md says what they are and why the times hold)
if [ -d "$peer_src/transformers/src" ]; then
  PYTHONPATH="$PYTHONPATH:$peer_src/transformers/src"
else
  PYTHONPATH="$PYTHONPATH:$here/shim/stand-in-transformers"
fi
"$python" -c 'import safetensors' 2>/dev/null || PYTHONPATH="$PYTHONPATH:$here/shim/stand-in-safetensors"
export PYTHONPATH
# the peer's threads must not spin while Tessera runs, and the reverse
export OMP_WAIT_POLICY=PASSIVE
# The same OpenBLAS kernels for both: Tessera runs itself again with the core type OpenBLAS
# should have picked where it does not know the CPU (ts-process.h), torch shares the library
# and would otherwise keep its generic kernels (4x slower sgemm on such a CPU).
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -x "$cli" ]; then
  core=$("$cli" info --device cpu 2>/dev/null | sed -n 's/^ *OpenBLAS kernels: \([A-Za-z0-9]*\).*/\1/p')
  [ -n "$core" ] && export OPENBLAS_CORETYPE="$core"
fi

load1() { cut -d' ' -f1 /proc/loadavg; }
# Waits for a quiet machine; prints true or false (gave up after max_wait).
quiet() {
  [ $wait_quiet = 1 ] || { echo skipped; return; }
  local start=$SECONDS
  while awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l >= m) }'; do
    [ $((SECONDS - start)) -lt "$max_wait" ] || { echo false; return; }
    sleep 5
  done
  echo true
}

# The peaks, measured now.
peak=$("$bench" ops --filter no-op-matches-this --min-seconds 0.5 | grep -m1 '"peak"' || true)
[ -n "$peak" ] || peak='{"bench":"peak","error":"tessera-bench printed no peak"}'
echo "$peak"
torch_peak=""
if [ $peer_ok = 1 ]; then
  torch_peak=$("$python" "$here/peer_amused.py" sgemm --threads "$peer_threads" | tail -1 || true)
  echo "$torch_peak"
fi
sgemm=$(printf '%s' "$peak" | sed -n 's/.*"sgemm_gflops":\([0-9.]*\).*/\1/p')

# The model both sides load.
case "$size" in
  tiny) model="${TESSERA_GOLDENS:-$root/../shared/goldens}/tiny-amused" ;;
  256|512)
    model="$work/amused-$size-random"
    if [ ! -f "$model/model_index.json" ] && [ $peer_ok = 1 ]; then
      "$python" "$here/peer_amused.py" save --size "$size" \
        --tokenizer "$root/data/models/tessera-emoji-128/tokenizer" "$model" >&2
    fi ;;
  *) echo "peer-bench: --size tiny, 256 or 512" >&2; exit 2 ;;
esac
[ -f "$model/model_index.json" ] || { echo "{\"bench\":\"peer\",\"error\":$(json_str "no model folder $model (the peer makes it: needs its sources)")}"; exit 1; }

variant_args() {
  case "$1" in
    exact) echo "" ;;
    fast) echo "--fast" ;;
    bf16|int8) echo "--precision $1" ;;
    bf16-fast|int8-fast) echo "--precision ${1%-fast} --fast" ;;
    *) echo "peer-bench: unknown variant $1 (exact, fast, bf16, int8, bf16-fast, int8-fast)" >&2; exit 2 ;;
  esac
}
variants=${variants:-exact}
for v in ${variants//,/ }; do variant_args "$v" >/dev/null; done

num() { printf '%s' "$1" | sed -n "s/.*\"$2\": \([0-9.e-]*\).*/\1/p"; }
for round in $(seq 1 "$rounds"); do
  peer_s=null peer_decode_s=null peer_quiet=null peer_tf=null
  if [ $peer_ok = 1 ]; then
    peer_quiet=$(quiet)
    out=$("$python" "$here/peer_amused.py" run --model "$model" --steps "$steps" \
          --guidance "$guidance" --seed "$round" --threads "$peer_threads" 2>"$work/peer.err" | tail -1 || true)
    peer_s=$(num "$out" seconds) peer_decode_s=$(num "$out" decode_s)
    peer_tf=$(json_str "$(printf '%s' "$out" | sed -n 's/.*"transformers": "\([^"]*\)".*/\1/p')")
    peer_threads_used=$(num "$out" threads)
    [ -n "$peer_s" ] || { echo "{\"bench\":\"peer\",\"round\":$round,\"error\":$(json_str "$(tail -3 "$work/peer.err") $out")}"; peer_s=null; }
    [ -n "$peer_decode_s" ] || peer_decode_s=null
  fi
  for v in ${variants//,/ }; do
    t_quiet=$(quiet)
    # the peer's time leaves out loading: so does Tessera's (-v says how long loading took)
    t0=$(date +%s.%N)
    # shellcheck disable=SC2046 # the variant's options are words
    LC_ALL=C LANGUAGE= "$cli" generate -d cpu -v -m "$model" --steps "$steps" -g "$guidance" \
      -s "$round" $(variant_args "$v") -o "$work/tessera-$round-$v.png" "a red apple" 2>"$work/tessera.err" >/dev/null
    t1=$(date +%s.%N)
    load_s=$(sed -n 's/.* loaded on .* in \([0-9.]*\) s$/\1/p' "$work/tessera.err" | head -1)
    decode_s=$(sed -n 's/.* decode \([0-9.]*\) s,.*/\1/p' "$work/tessera.err" | head -1)
    wall_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    t_s=$(awk -v w="$wall_s" -v l="${load_s:-0}" 'BEGIN { printf "%.3f", w - l }')
    ratio=null decode_ratio=null
    [ "$peer_s" = null ] || ratio=$(awk -v t="$t_s" -v p="$peer_s" 'BEGIN { printf "%.3f", t / p }')
    [ "$peer_decode_s" = null ] || [ -z "$decode_s" ] ||
      decode_ratio=$(awk -v t="$decode_s" -v p="$peer_decode_s" 'BEGIN { printf "%.3f", t / p }')
    echo "{\"bench\":\"peer-round\",\"size\":\"$size\",\"round\":$round,\"variant\":\"$v\",\"steps\":$steps,\"guidance\":$guidance,\"tessera_s\":$t_s,\"tessera_wall_s\":$wall_s,\"peer_s\":$peer_s,\"ratio\":$ratio,\"tessera_decode_s\":${decode_s:-null},\"peer_decode_s\":$peer_decode_s,\"decode_ratio\":$decode_ratio,\"peer_transformers\":$peer_tf,\"peer_threads\":${peer_threads_used:-null},\"sgemm_gflops\":${sgemm:-null},\"quiet_peer\":\"$peer_quiet\",\"quiet_tessera\":\"$t_quiet\",\"load1\":$(load1)}"
  done
done
