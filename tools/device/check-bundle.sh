#!/usr/bin/env bash
# tools/device/check-bundle.sh — prove that a staged bundle is self-contained.
#
#   tools/device/check-bundle.sh [STAGED_BUNDLE]   (default build-bundle/stage/tessera-bundle)
#
# Copies the bundle to a fresh folder (so no path of the build can be used), unpacks its
# Vulkan loader .debs next to it the way gpu-checks.sh does on the device, and runs every
# program in a clean environment (env -i, no LD_LIBRARY_PATH) through the dynamic loader with
# --inhibit-cache (no /etc/ld.so.cache) and the bundle's folders as its only library path.
# LD_DEBUG records every object each process maps; anything from outside the copy is listed
# by kind: glibc (expected: the device's own), the lavapipe driver, the implicit layers of the
# system's Vulkan installation and what they need (expected: the device brings its NVIDIA
# driver instead), anything else (a finding: exit status 1).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
stage=${1:-$src/build-bundle/stage/tessera-bundle}
# shellcheck source=tools/device/bundle-env.sh
. "$src/tools/device/bundle-env.sh"
[ -x "$stage/bin/tessera-cli" ] || { echo "check-bundle: no bundle at $stage" >&2; exit 2; }

work=$(mktemp -d /tmp/tessera-bundle-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
copy=$work/copy/tessera-bundle
mkdir -p "$work/copy" "$work/sysroot" "$work/scratch/cache" "$work/scratch/home" "$work/ld"
cp -a "$stage" "$copy"
for d in "$copy"/debs/*.deb; do dpkg-deb -x "$d" "$work/sysroot"; done
libdir=$work/sysroot/usr/lib/x86_64-linux-gnu
ldso=/lib64/ld-linux-x86-64.so.2
lvp_json=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json
mapfile -t envs < <(bundle_env "$copy" "$work/scratch")

# run NAME ARGS…: one program of the copy, clean environment, loader path = the copy only.
run () {
  local name=$1; shift
  env -i "${envs[@]}" VK_ICD_FILENAMES="$lvp_json" LD_DEBUG=libs \
    LD_DEBUG_OUTPUT="$work/ld/$name" \
    "$ldso" --inhibit-cache --library-path "$copy/lib:$copy/lib/cxx:$libdir" \
    "$copy/bin/$name" "$@" >"$work/$name.out" 2>&1
}

status=0
for p in "$copy"/bin/*; do
  name=$(basename "$p")
  case $name in
    tessera-cli) args=(info) ;;                  # opens Vulkan: loader, layer, driver
    tessera-bench|tessera-model-bench) args=(--help) ;;
    test-reliability)                            # the validation layer, loaded for real
      args=(-p /reliability/vulkan-validation-clean) ;;
    *) args=(-l) ;;                              # GLib tests: list the cases
  esac
  if run "$name" "${args[@]}"; then
    printf '  %-22s runs (%s)\n' "$name" "${args[*]}"
  else
    printf '  %-22s FAILED (%s):\n' "$name" "${args[*]}"
    sed 's/^/      /' "$work/$name.out" | tail -5
    status=1
  fi
done
# The validation layer must have been found in the copy by tessera-cli info with it on.
env -i "${envs[@]}" VK_ICD_FILENAMES="$lvp_json" TESSERA_VK_VALIDATION=1 \
  LD_DEBUG=libs LD_DEBUG_OUTPUT="$work/ld/cli-validation" \
  "$ldso" --inhibit-cache --library-path "$copy/lib:$copy/lib/cxx:$libdir" \
  "$copy/bin/tessera-cli" info >"$work/cli-validation.out" 2>&1 || status=1

# Every object mapped: "calling init: PATH" for each one initialised, plus the files found by
# search ("trying file=PATH" followed by the next line not being another try).
# The driver's side: lavapipe, the implicit layers the system's Vulkan installation declares
# (Mesa's device-select layer here), and the libraries these need.
driver_libs=(/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so)
for j in /usr/share/vulkan/implicit_layer.d/*.json /etc/vulkan/implicit_layer.d/*.json; do
  [ -f "$j" ] || continue
  l=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["layer"]["library_path"])' "$j")
  [[ $l == /* ]] || l=/usr/lib/x86_64-linux-gnu/$l
  [ -f "$l" ] && driver_libs+=("$l")
done
driver=$( { printf '%s\n' "${driver_libs[@]}"; ldd "${driver_libs[@]}" |
  awk '$3 ~ /^\// { print $3 }'; } | xargs -r readlink -f | sort -u)
cat "$work"/ld/* | sed -n 's/.*calling init: //p' | xargs -r readlink -f | sort -u >"$work/loaded"
inside=0 glibc=() drv=() other=()
while read -r f; do
  case $f in
    "$work"/*) inside=$((inside + 1)) ;;
    */ld-linux-x86-64.so.2|*/libc.so.6|*/libm.so.6|*/libdl.so.2|*/libpthread.so.0|*/librt.so.1|*/libresolv.so.2)
      glibc+=("$f") ;;
    *) if grep -qxF "$f" <<<"$driver"; then drv+=("$(basename "$f")"); else other+=("$f"); fi ;;
  esac
done <"$work/loaded"
grep -q 'libVkLayer_khronos_validation' <(grep -F "$copy" "$work/loaded") ||
  { echo "  the validation layer was not loaded from the bundle"; status=1; }

echo "self-containment: $inside objects from the bundle's copy (and its unpacked loader .debs)"
echo "  from the system, glibc: $(printf '%s ' "${glibc[@]##*/}")"
echo "  from the system, the lavapipe driver, the system's implicit layers and what they need (the device uses its own): ${#drv[@]} objects"
echo "    ${drv[*]}"
if [ ${#other[@]} -gt 0 ]; then
  echo "  from the system, NOT EXPECTED:"
  printf '    %s\n' "${other[@]}"
  status=1
else
  echo "  from the system, anything else: nothing"
fi
exit $status
