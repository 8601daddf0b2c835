#!/bin/bash
# bench-pipeline.sh — end-to-end tessera-cli timings (generate, inpaint, edit; exact and
# --fast) on an amused-256-shaped model with random weights, against the diffusers peer.
#
#   tools/bench/bench-pipeline.sh [BUILD_DIR] [DEVICE]      (defaults: build, cpu)
#
# Creates the model folder ($TESSERA_BENCH_MODEL, default /tmp/tessera-amused-256-f32,
# ~3.5 GB f32 — never commit it) when missing. Before each run it waits (up to
# $TESSERA_BENCH_WAIT seconds, default 600) for the 1-minute load average to drop to
# $TESSERA_BENCH_MAX_LOAD (default 1.5), and reports the load with every figure. The timings
# are the CLI's own per-stage ones (the model is memory-mapped, so "with_load_s" is the warm
# page-cache figure and first-touch page faults land in the first stages); the peer ratio of
# inpaint and edit is against the peer's generate, the only peer figure. Fast runs also report
# their deviation from the exact run with the same seed (PSNR and identical-pixel fraction of
# the image). One JSON line per run.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
device=${2:-cpu}
model=${TESSERA_BENCH_MODEL:-/tmp/tessera-amused-256-f32}
max_load=${TESSERA_BENCH_MAX_LOAD:-1.5}
max_wait=${TESSERA_BENCH_WAIT:-600}
work=$(mktemp -d /tmp/tessera-bench-pipeline.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The peer: diffusers AmusedPipeline (PyTorch 1.13 + OpenBLAS, f32), 256×256, 12 steps,
# guidance 10, on the same 2-core machine.
peer_s=45.2

cli=$build/app/cli/tessera-cli
if [ ! -x "$cli" ] || [ ! -x "$build/tools/model/tessera-model-bench" ]; then
  echo "bench-pipeline: build tessera-cli and tessera-model-bench in $build first" >&2
  exit 2
fi
if [ ! -f "$model/model_index.json" ]; then
  "$build/tools/model/tessera-model-bench" synth "$src/tests/model/fixtures/amused-256" \
    "$model" --tokenizer "${TESSERA_GOLDENS:-/work/shared/goldens}/tiny-amused/tokenizer" >&2
fi

machine=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
machine="$machine, $(nproc) cores"

load1 () { cut -d' ' -f1 /proc/loadavg; }

# Waits for a quiet machine; prints the load it starts at.
wait_quiet () {
  local waited=0
  while awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l > m) }'; do
    if [ "$waited" -ge "$max_wait" ]; then
      echo "bench-pipeline: load $(load1) still above $max_load after ${max_wait}s; measuring anyway" >&2
      break
    fi
    sleep 15
    waited=$((waited + 15))
  done
  load1
}

# Image comparison in Python's standard library (8-bit RGB PNGs as GdkPixbuf writes them;
# the mask writer makes the inpainting mask).
cat > "$work/png.py" <<'PY'
import math, struct, sys, zlib

def read(path):
    data = open(path, 'rb').read()
    pos, idat, w = 8, b'', 0
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b'IHDR':
            w, h, depth, color = struct.unpack('>IIBB', body[:10])
            ch = {2: 3, 6: 4}[color]
            assert depth == 8
        elif kind == b'IDAT':
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), w * ch, [], bytearray(w * ch)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - ch] if i >= ch else 0
            b, c = prev[i], prev[i - ch] if i >= ch else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(v for x in range(w) for v in line[x * ch:x * ch + 3]))
        prev = line
    return b''.join(rows)

def compare(a, b):
    x, y = read(a), read(b)
    mse = sum((p - q) ** 2 for p, q in zip(x, y)) / len(x)
    same = sum(x[i:i + 3] == y[i:i + 3] for i in range(0, len(x), 3)) / (len(x) // 3)
    psnr = 'null' if mse == 0 else '%.2f' % (10 * math.log10(255 ** 2 / mse))
    print('"psnr_db":%s,"identical_pixels":%.4f' % (psnr, same))

def mask(path, side):
    rows = b''.join(b'\0' + bytes(255 if side // 4 <= x < 3 * side // 4 and side // 4 <= y < 3 * side // 4
                                  else 0 for x in range(side)) for y in range(side))
    chunk = lambda k, d: struct.pack('>I', len(d)) + k + d + struct.pack('>I', zlib.crc32(k + d))
    open(path, 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', side, side, 8, 0, 0, 0, 0))
                           + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))

if sys.argv[1] == 'compare': compare(sys.argv[2], sys.argv[3])
else: mask(sys.argv[2], int(sys.argv[3]))
PY

# run NAME MODE [ARGS…]: one CLI run, one JSON line.
run () {
  local name=$1 mode=$2; shift 2
  local load_before t0 t1 line
  load_before=$(wait_quiet)
  t0=$(date +%s.%N)
  LC_ALL=C "$cli" "$mode" -m "$model" -d "$device" --seed 7 -o "$work/$name.png" "$@" \
    >/dev/null 2>"$work/$name.log" || { cat "$work/$name.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  line=$(grep ' steps; text ' "$work/$name.log" | tail -1)
  # "<mode> on <backend>: N steps; text A s, image encode B s, sampling C s, decode D s,
  #  composite E s; total F s (G s with the model load)"
  echo "$line" | awk -v name="$name" -v machine="$machine" -v peer="$peer_s" \
    -v lb="$load_before" -v la="$(load1)" -v wall="$(echo "$t1 - $t0" | bc)" '
    { n = split($0, f, /[ ;,():]+/)
      for (i = 1; i <= n; i++) {
        if (f[i] == "steps") steps = f[i - 1]
        if (f[i] == "text") text = f[i + 1]
        if (f[i] == "encode") enc = f[i + 1]
        if (f[i] == "sampling") samp = f[i + 1]
        if (f[i] == "decode") dec = f[i + 1]
        if (f[i] == "total") total = f[i + 1]
        if (f[i] == "with") loaded = f[i - 2]
      }
      printf "{\"bench\":\"pipeline\",\"run\":\"%s\",\"machine\":\"%s\",\"steps\":%s," \
             "\"text_s\":%s,\"image_encode_s\":%s,\"sampling_s\":%s,\"decode_s\":%s," \
             "\"total_s\":%s,\"with_load_s\":%s,\"process_s\":%.2f,\"peer_s\":%s," \
             "\"peer_case\":\"diffusers generate 256x256, 12 steps, guidance 10\"," \
             "\"ratio\":%.3f,\"ratio_with_load\":%.3f,\"load_before\":%s,\"load_after\":%s", \
             name, machine, steps, text, enc, samp, dec, total, loaded, wall, peer,
             total / peer, loaded / peer, lb, la }'
  if [ "${name%-fast}" != "$name" ]; then
    printf ',"vs":"%s",' "${name%-fast}-exact"
    python3 "$work/png.py" compare "$work/${name%-fast}-exact.png" "$work/$name.png" | tr -d '\n'
  fi
  echo "}"
}

prompt="a lighthouse on a cliff at sunset"
run generate-exact generate -p "$prompt" --width 256 --height 256 --steps 12 --guidance 10
run generate-fast generate -p "$prompt" --width 256 --height 256 --steps 12 --guidance 10 --fast
cp "$work/generate-exact.png" "$work/input.png"
python3 "$work/png.py" mask "$work/mask.png" 256
run inpaint-exact inpaint "$work/input.png" --mask "$work/mask.png" -p "a red boat"
run inpaint-fast inpaint "$work/input.png" --mask "$work/mask.png" -p "a red boat" --fast
run edit-exact edit "$work/input.png" -p "in winter, snow"
run edit-fast edit "$work/input.png" -p "in winter, snow" --fast
