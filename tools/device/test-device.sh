#!/usr/bin/env bash
# tools/device/test-device.sh — the `device` meson suite (TAP): the device scripts parse, and,
# when asked for with TESSERA_DEVICE_CHECKS=1 and a bundle is staged (make-bundle.sh), the
# whole device command runs on this machine's Vulkan (lavapipe: gpu-checks.sh --quick, a few
# minutes, so not by default).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
echo "1..2"
bad=""
for f in "$here"/*.sh; do
  bash -n "$f" 2>&1 | sed 's/^/# /' || true
  bash -n "$f" 2>/dev/null || bad="$bad $(basename "$f")"
done
if [ -z "$bad" ]; then echo "ok 1 - the device scripts parse"; else echo "not ok 1 - these do not parse:$bad"; fi

stage=${TESSERA_BUNDLE_BUILD:-$src/build-bundle}/stage/tessera-bundle
if [ "${TESSERA_DEVICE_CHECKS:-0}" != 1 ]; then
  echo "ok 2 # SKIP gpu-checks.sh --quick takes minutes on lavapipe: set TESSERA_DEVICE_CHECKS=1 to run it"
elif [ ! -x "$stage/bin/tessera-cli" ]; then
  echo "ok 2 # SKIP no staged bundle at $stage: run tools/device/make-bundle.sh first"
else
  OUT=$(mktemp -d /tmp/tessera-device-test.XXXXXX)
  export OUT
  if "$here/gpu-checks.sh" --quick --bundle "$stage" 2>&1 | sed 's/^/# /'; [ "${PIPESTATUS[0]}" = 0 ]; then
    echo "ok 2 - gpu-checks.sh --quick on this machine's Vulkan"
    rm -rf "$OUT"
  else
    echo "not ok 2 - gpu-checks.sh --quick on this machine's Vulkan (results in $OUT)"
  fi
fi
