#!/usr/bin/env bash
# tools/dev.sh — set up a Debian 12 machine for Tessera, build, and run or test.
#
#   tools/dev.sh run    install missing packages, build, run Tessera (the CLI's device
#                       report and op self-check)
#   tools/dev.sh test   install missing packages, build, run the whole test suite, then the
#                       compute and pipeline suites again in a second build with
#                       AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/; skip it
#                       with TESSERA_SANITIZE=0)
#
# Idempotent: packages already present are not touched and the build is incremental.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${TESSERA_BUILD_DIR:-$here/build}"

# Everything Tessera builds and tests with, from Debian 12's archive.
packages=(
  gcc meson ninja-build pkg-config python3 gettext locales file
  libglib2.0-dev libjson-glib-dev libopenblas-dev
  libvulkan-dev libvulkan-volk-dev glslang-tools spirv-tools
  mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  libgtk-4-dev libadwaita-1-dev libgdk-pixbuf-2.0-dev xvfb xauth desktop-file-utils
  webp-pixbuf-loader libwebp-dev libzip-dev appstream
)
# The test suite also checks the training tools (suite train) against the engine: they run
# on Debian's PyTorch (CPU). The editor and the CLI do not need it.
test_packages=(python3-torch)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_missing_packages() {
  local missing=()
  for p in "${packages[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing missing Debian packages: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build_tessera() {
  if [ ! -f "$build/build.ninja" ]; then
    log "configuring $build"
    meson setup "$build" "$here"
  fi
  log "building"
  ninja -C "$build"
}

run_tessera() {
  if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    GSETTINGS_SCHEMA_DIR="$build/data" TESSERA_LOCALEDIR="$build/po" exec "$build/app/editor/tessera" "$@"
  fi
  local cli="$build/app/cli/tessera-cli"
  "$cli" info
  echo
  "$cli" selfcheck
  echo
  # No display: show the shipped model at work through the CLI instead of the editor.
  log "generating with the shipped model: $build/tessera-sample-N.png"
  "$cli" generate -p "red apple, 3d style" --variants 4 -o "$build/tessera-sample.png"
}

asan_build="${TESSERA_ASAN_BUILD_DIR:-$here/build-asan}"

# The sanitizer pass: a second build (no -march=native, so it runs anywhere), the suites
# whose code is ours alone. Any report fails the test (UBSAN_OPTIONS and tests/lsan.supp
# are set by tests/meson.build).
run_sanitizer_tests() {
  if [ ! -f "$asan_build/build.ninja" ]; then
    log "configuring $asan_build (AddressSanitizer + UndefinedBehaviorSanitizer)"
    meson setup "$asan_build" "$here" -Dsanitize=true -Db_lundef=false -Dnative=false
  fi
  log "building with sanitizers"
  ninja -C "$asan_build"
  log "running the compute and pipeline suites under the sanitizers"
  meson test -C "$asan_build" --print-errorlogs --num-processes "$(nproc)" \
    --suite compute --suite pipeline
}

run_tests() {
  log "running the test suite"
  local rc=0 logs=("$build/meson-logs/testlog.json")
  meson test -C "$build" --print-errorlogs --num-processes "$(nproc)" "$@" || rc=$?
  # Only for the whole suite: a run limited by arguments is someone looking at one thing.
  if [ $# -eq 0 ] && [ "${TESSERA_SANITIZE:-1}" != 0 ]; then
    rm -f "$asan_build/meson-logs/testlog.json"
    run_sanitizer_tests || rc=$?
    logs+=("$asan_build/meson-logs/testlog.json")
  fi
  # One plain closing line, counted over the test programs meson ran (both passes).
  python3 - "${logs[@]}" <<'PY'
import json, os, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
for path in sys.argv[1:]:
    if not os.path.exists(path):  # a pass that did not get to run its tests
        counts["failed"] += 1
        continue
    for line in open(path):
        r = json.loads(line)["result"]
        key = {"OK": "passed", "EXPECTEDFAIL": "passed", "SKIP": "skipped"}.get(r, "failed")
        counts[key] += 1
print(f"tests: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
PY
  return $rc
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  run)  install_missing_packages; build_tessera; run_tessera "$@" ;;
  test) install_missing_packages "${test_packages[@]}"; build_tessera; run_tests "$@" ;;
  *)    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
