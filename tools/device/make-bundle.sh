#!/usr/bin/env bash
# tools/device/make-bundle.sh — build the relocatable bundle that a lent GPU machine runs.
#
#   tools/device/make-bundle.sh [--no-check]
#
# The device machine (docs/gpu.md) has a driver but none of our Debian libraries, no meson,
# no glslang and no network, and what travels to it (the working tree plus `carry`) is at most
# 64 MiB. So this script, on a Debian 12 machine:
#   1. builds a release in build-bundle/ (no -march=native: the device's CPU is another one),
#      linked with an RPATH of $ORIGIN/../lib so the programs find the bundle's libraries from
#      wherever it is unpacked (DT_RPATH, not RUNPATH, so it also serves the libraries' own
#      dependencies);
#   2. stages build-bundle/stage/tessera-bundle/: bin/ (tessera-cli, tessera-bench,
#      tessera-model-bench and the Vulkan test programs), lib/ (every shared library they or
#      the validation layer need that is not part of glibc, found with ldd; the C++ runtime
#      apart in lib/cxx, used only where the device has none, since a newer system one must
#      win), the Khronos validation layer with a manifest that points at it, the Vulkan loader
#      .debs the device README names, the goldens the Vulkan tests read, and the shipped model;
#   3. packs it into device-bundle/ (ignored by git; a few .tar.xz pieces), leaving out the
#      shipped model when it travels with the working tree anyway and the goldens that do not
#      fit: the pieces must fit in what the working tree leaves of the 64 MiB;
#   4. proves that the staged copy is self-contained (check-bundle.sh).
#
# Environment: TESSERA_GOLDENS (default ../shared/goldens), TESSERA_BUNDLE_BUILD (default
# build-bundle), TESSERA_BUNDLE_MARGIN_MIB (room kept for other untracked files, default 2).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${TESSERA_BUNDLE_BUILD:-$src/build-bundle}
goldens=${TESSERA_GOLDENS:-$src/../shared/goldens}
model=$src/data/models/tessera-emoji-128
outdir=$src/device-bundle
stage_root=$build/stage
stage=$stage_root/tessera-bundle
margin_mib=${TESSERA_BUNDLE_MARGIN_MIB:-2}
travel_limit=$((64 * 1048576))
check=1
[ "${1:-}" = "--no-check" ] && check=0

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'make-bundle: %s\n' "$*" >&2; exit 1; }

# The programs the device runs. Paths inside the build folder.
programs=(
  app/cli/tessera-cli
  tools/bench/tessera-bench
  tools/model/tessera-model-bench
  tests/vulkan/test-vk-runtime
  tests/vulkan/test-ops-vulkan
  tests/nn/test-nn-goldens
  tests/pipeline/test-pipeline-goldens
  tests/pipeline/test-reliability
)
# What a base glibc system has: never bundled (the device's own must be used with its kernel).
glibc_re='^(ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libresolv\.so\.2|libutil\.so\.1|linux-vdso\.so\.1)$'
# Loaded by the dynamic loader only when the system has none (see lib/cxx above).
cxx_re='^(libstdc\+\+\.so\.6|libgcc_s\.so\.1)$'
# The device README's loader set (libvulkan1 for Vulkan; the GL/EGL ones are what its recipe
# unpacks, and the NVIDIA driver's libGLX_nvidia needs libGLdispatch from libglvnd0).
debs=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
vvl=/usr/lib/x86_64-linux-gnu/libVkLayer_khronos_validation.so

[ "$(uname -m)" = x86_64 ] || die "the device is x86-64; build the bundle on an x86-64 machine"
[ -f "$vvl" ] || die "no validation layer at $vvl (apt-get install vulkan-validationlayers)"
[ -f "$goldens/manifest.json" ] || die "no goldens at $goldens (set TESSERA_GOLDENS)"

# ---- 1. build ----
link_args='-Wl,--disable-new-dtags,-rpath,$ORIGIN/../lib'
if [ ! -f "$build/build.ninja" ]; then
  log "configuring $build (release, portable, RPATH \$ORIGIN/../lib)"
  meson setup "$build" "$src" --buildtype=release -Dnative=false -Dsanitize=false \
    -Dfuzzing=false "-Dc_link_args=$link_args" >/dev/null
fi
log "building ${#programs[@]} programs in $build"
ninja -C "$build" "${programs[@]}" >/dev/null || ninja -C "$build" "${programs[@]}"
for p in "${programs[@]}"; do
  # (grep -c, not -q, here and below: -q stops reading early, and the writer's SIGPIPE would
  # fail the pipeline under pipefail.)
  readelf -d "$build/$p" | grep -c 'RPATH.*\$ORIGIN/\.\./lib' >/dev/null ||
    die "$p has no \$ORIGIN/../lib RPATH: remove $build and run again"
done

# ---- 2. stage ----
log "staging $stage"
rm -rf "$stage_root"
mkdir -p "$stage"/{bin,lib/cxx,lib/gio-modules,share/vulkan/explicit_layer.d,share/gdk-pixbuf,debs,goldens,models}
for p in "${programs[@]}"; do
  cp "$build/$p" "$stage/bin/"
done

# Every library ldd resolves for the programs and the layer, under the name the programs ask
# for (the SONAME), not the file the symlink points at.
cp "$vvl" "$stage/lib/"
{
  for p in "${programs[@]}"; do ldd "$build/$p"; done
  ldd "$vvl"
} | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | sort -u |
while read -r name path; do
  if [[ $name =~ $glibc_re ]]; then
    continue
  elif [[ $name =~ $cxx_re ]]; then
    cp -L "$path" "$stage/lib/cxx/$name"
  else
    cp -L "$path" "$stage/lib/$name"
  fi
done
missing=$(for p in "${programs[@]}"; do ldd "$build/$p"; done; ldd "$vvl")
if grep -c 'not found' <<<"$missing" >/dev/null; then
  die "a library is missing on this machine: $(grep 'not found' <<<"$missing" | sort -u)"
fi

# The layer manifest, with the library path relative to the manifest (the loader resolves a
# path with a slash against the manifest's folder; a bare name would go to the system).
python3 - "$vvl" "$stage/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json" <<'EOF'
import json, sys
src = "/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json"
m = json.load(open(src))
m["layer"]["library_path"] = "../../../lib/libVkLayer_khronos_validation.so"
json.dump(m, open(sys.argv[2], "w"), indent=1)
EOF
# gdk-pixbuf reads its module list from a file; the PNG/JPEG codecs are built in, so an empty
# list keeps it from reading a system one written for other library versions.
: >"$stage/share/gdk-pixbuf/loaders.cache"

# The loader .debs, downloaded once into the build folder.
debcache=$build/debs-cache
mkdir -p "$debcache"
for d in "${debs[@]}"; do
  if ! ls "$debcache/${d}_"*.deb >/dev/null 2>&1; then
    log "apt-get download $d"
    (cd "$debcache" && apt-get download "$d" >/dev/null 2>&1) ||
      (cd "$debcache" && apt-get download "$d") || die "apt-get download $d failed"
  fi
  cp "$debcache/${d}_"*.deb "$stage/debs/"
done

# The configs the device writes random-weight amused-256/512 folders from (tessera-model-bench).
mkdir -p "$stage/fixtures"
cp -r "$src/tests/model/fixtures/amused-256" "$src/tests/model/fixtures/amused-512" "$stage/fixtures/"

# The shipped model (whatever is there now).
[ -f "$model/model_index.json" ] && cp -r "$model" "$stage/models/"

# ---- 3. the carried pieces, within what the working tree leaves ----
# device-bundle/ holds several .tar.xz, unpacked in name order into one tessera-bundle/ folder:
# 1-lib (libraries, layer, .debs), 2-bin (programs, fixtures), 3-goldens-* (one per goldens
# unit), 4-meta (bundle.txt and the goldens manifest trimmed to what is there). Compressing
# the 60 MB of libraries takes minutes on one core, so each piece is cached in the build
# folder under the checksum of what is in it and only packed again when that changes.
# What travels besides the carry: tracked and untracked-not-ignored files of the work tree.
tree_bytes=$(cd "$src" && { git ls-files -z; git ls-files -z -o --exclude-standard; } |
  xargs -0 -r stat -L -c %s 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
budget=$((travel_limit - tree_bytes - margin_mib * 1048576))
log "working tree travels with $((tree_bytes / 1048576)) MiB; the bundle may use $((budget / 1048576)) MiB"
model_in_tree=0
if (cd "$src" && [ -n "$(git ls-files data/models/tessera-emoji-128/model_index.json)" ]); then
  model_in_tree=1
fi

# Goldens: the files the Vulkan tests read (nn goldens, the Vulkan pipeline goldens, the tiny
# model of the pipeline and reliability tests) first, then further cases in the order of
# their worth on a GPU while they fit: the real-width networks first (the shapes the GPU
# kernels meet in use; the tiny pipeline cases test logic that lavapipe covers already). A case whose file is left out is taken out of the
# bundled manifest too, so its test is not registered or skips ("not in this goldens
# folder's manifest").
required_goldens=(manifest.json README.md tokenizer tiny-amused text transformer vq
  pipeline/generate_cfg_128x128.safetensors pipeline/generate_cfg_128x128_out0.png
  pipeline/img2img_input_96x128.png pipeline/img2img_s05_96x128.safetensors
  pipeline/img2img_s05_96x128_out0.png)
# Each unit: space-separated files (medium_vq_decoder_upblock1 takes its weights from the
# medium_vq_real case's manifest entry, so the two go together).
optional_goldens=(
  "medium/medium_clip_text_768.safetensors"
  "medium/medium_uvit512_shallow_8x8.safetensors"
  "pipeline/generate_b2_neg_128x96.safetensors pipeline/generate_b2_neg_128x96_out0.png pipeline/generate_b2_neg_128x96_out1.png"
  "pipeline/generate_nocfg_256path_128x128.safetensors pipeline/generate_nocfg_256path_128x128_out0.png tiny-transformer-256path"
  "pipeline/inpaint_rect_256x256.safetensors pipeline/inpaint_rect_256x256_out0.png pipeline/inpaint_input_256x256.png pipeline/inpaint_mask_256x256.png"
  "medium/medium_vq_real_64x64.safetensors medium/medium_vq_decoder_upblock1_8x8.safetensors"
  "medium/medium_uvit256_shallow_8x8.safetensors"
  "medium/medium_transformer_block_seq256.safetensors"
)

cache=$build/pack-cache
mkdir -p "$cache"
# piece NAME DIR PATHS…: device-bundle's NAME.tar.xz holding DIR/PATHS (as tessera-bundle/…),
# from the cache when the same content was packed before.
piece () {
  local name=$1 dir=$2; shift 2
  local key
  key=$(cd "$dir" && find "$@" -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  # (The key covers the paths as well as the contents, so it names the piece by itself.)
  if [ ! -f "$cache/$key.tar.xz" ]; then
    log "packing $name"
    tar -C "$dir" --owner=0 --group=0 --sort=name --transform 's,^,tessera-bundle/,' -cf - "$@" |
      xz -6 -T1 >"$cache/$key.tar.xz.tmp"
    mv "$cache/$key.tar.xz.tmp" "$cache/$key.tar.xz"
  fi
  cp "$cache/$key.tar.xz" "$outdir/$name.tar.xz"
}

rm -rf "$outdir"
mkdir -p "$outdir"
for g in "${required_goldens[@]}"; do
  mkdir -p "$stage/goldens/$(dirname "$g")"
  cp -r "$goldens/$g" "$stage/goldens/$g"
done
chmod -R u+w "$stage/goldens"
piece 1-lib "$stage" lib share debs
piece 2-bin "$stage" bin fixtures
piece 3-goldens-0 "$stage" "${required_goldens[@]/#/goldens/}"
used=$(cat "$outdir"/*.tar.xz | wc -c)
log "required pieces: $((used / 1048576)) MiB"
[ "$used" -le "$budget" ] || die "even the required pieces ($used bytes) are over the budget ($budget)"
included=() omitted=()
i=0
for unit in "${optional_goldens[@]}"; do
  i=$((i + 1))
  # shellcheck disable=SC2206
  files=($unit)
  for f in "${files[@]}"; do
    mkdir -p "$stage/goldens/$(dirname "$f")"
    cp -r "$goldens/$f" "$stage/goldens/$f"
  done
  chmod -R u+w "$stage/goldens"
  piece "3-goldens-$i" "$stage" "${files[@]/#/goldens/}"
  est=$(stat -c %s "$outdir/3-goldens-$i.tar.xz")
  if [ $((used + est + 65536)) -le "$budget" ]; then
    used=$((used + est))
    included+=("${files[@]}")
  else
    rm -f "$outdir/3-goldens-$i.tar.xz"
    for f in "${files[@]}"; do rm -rf "${stage:?}/goldens/$f"; done
    omitted+=("${files[@]}")
  fi
done
# The manifest: only the cases whose files are all here (or whose entry a kept case needs).
python3 - "$stage/goldens" <<'EOF'
import json, os, sys
root = sys.argv[1]
m = json.load(open(os.path.join(root, "manifest.json")))
have = lambda f: os.path.exists(os.path.join(root, f))
kept = [c for c in m["cases"] if all(have(f) for f in c.get("files", []))]
names = {c["name"] for c in kept}
needed = {c["weights_from_case"] for c in kept if "weights_from_case" in c}
kept += [c for c in m["cases"] if c["name"] in needed and c["name"] not in names]
dropped = [c["name"] for c in m["cases"] if c not in kept]
m["cases"] = [c for c in m["cases"] if c in kept]
m["files"] = {k: v for k, v in m["files"].items() if have(k)}
m["bundle_note"] = "trimmed by tools/device/make-bundle.sh; cases left out: " + ", ".join(dropped)
json.dump(m, open(os.path.join(root, "manifest.json"), "w"), indent=1)
print("goldens cases left out of the bundle:", ", ".join(dropped) or "none", file=sys.stderr)
EOF

# bundle.txt: what is inside, for the report and for gpu-checks.sh.
{
  echo "tessera bundle"
  echo "commit: $(cd "$src" && git rev-parse --short HEAD)$(cd "$src" && git diff --quiet HEAD -- compute shaders app tests tools || echo ' (with local changes)')"
  echo "built: $(date -u +%Y-%m-%dT%H:%MZ) on $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "model: $([ "$model_in_tree" = 1 ] && echo "travels with the tree (data/models/tessera-emoji-128)" || echo "models/tessera-emoji-128")"
  echo "goldens added: ${included[*]:-none}"
  echo "goldens left out (no room in the 64 MiB): ${omitted[*]:-none}"
  echo "files:"
  (cd "$stage" && find . -type f -printf '%s %p\n' | sort -k2)
} >"$stage/bundle.txt"
if [ "$model_in_tree" = 0 ] && [ -d "$stage/models/tessera-emoji-128" ]; then
  piece 5-model "$stage" models
fi
tar -C "$stage" --owner=0 --group=0 --transform 's,^,tessera-bundle/,' -cf - bundle.txt \
  goldens/manifest.json | xz -6 -T1 >"$outdir/4-meta.tar.xz"
cp "$stage/bundle.txt" "$outdir/bundle.txt"
size=$(cat "$outdir"/* | wc -c)
[ "$size" -le "$budget" ] || die "the bundle ($size bytes) is over the budget ($budget)"
log "bundle: $outdir $((size / 1048576)).$(((size % 1048576) * 10 / 1048576)) MiB in $(ls "$outdir" | wc -l) files" \
    "(staged: $(du -sm "$stage" | cut -f1) MiB; with the tree: $(((size + tree_bytes) / 1048576)) of 64 MiB)"

# ---- 4. self-containment ----
if [ "$check" = 1 ]; then
  "$src/tools/device/check-bundle.sh" "$stage"
fi
