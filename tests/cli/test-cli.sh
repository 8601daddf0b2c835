#!/usr/bin/env bash
# tessera-cli from the outside: exit codes, one-line errors, the device report, the self-check.
# TAP output. Usage: test-cli.sh PATH-TO-tessera-cli
set -u
cli="$1"
n=0
failed=0

# shellcheck source=tap.sh
source "$(dirname "$0")/tap.sh"

check "no command prints usage" 2 "Usage: tessera-cli" -- "$cli"
check "--help lists commands" 0 "selfcheck" -- "$cli" --help
check "unknown command is a usage error" 2 "unknown command" -- "$cli" frobnicate
check "unknown option is a usage error" 2 "Unknown option" -- "$cli" info --bogus
check "bad device name is a clear error" 1 "unknown device" -- "$cli" info --device gpu7
check "info reports the CPU backend" 0 "CPU backend" -- "$cli" info --device cpu
check "info lists Vulkan devices or why there are none" 0 "Vulkan devices:" -- "$cli" info --device cpu
# OpenBLAS picks its kernels as it loads; where it does not know the CPU the CLI runs again
# with the core type it should have picked (ts-process.h), so info never has to warn unless
# the user chose the core type. An explicit choice is kept.
n=$((n + 1))
out=$(env -u OPENBLAS_CORETYPE "$cli" info --device cpu 2>&1)
if grep -q "OpenBLAS kernels: " <<<"$out" && ! grep -q "OpenBLAS runs its .* kernels, below what this CPU has" <<<"$out"; then
  echo "ok $n - OpenBLAS runs kernels for this CPU ($(grep -o 'OpenBLAS kernels: .*' <<<"$out"))"
else
  failed=$((failed + 1))
  echo "not ok $n - OpenBLAS runs kernels for this CPU"
  sed 's/^/# /' <<<"$out" | tail -n 20
fi
check "an OPENBLAS_CORETYPE the user set is kept" 0 "OpenBLAS kernels: Prescott \(OPENBLAS_CORETYPE=Prescott\)" -- \
  env OPENBLAS_CORETYPE=Prescott "$cli" info --device cpu
check "selfcheck on the CPU backend" 0 "all checks passed" -- env TESSERA_DEVICE=cpu "$cli" selfcheck
check "selfcheck against Vulkan when a device exists" 0 "all checks passed|No Vulkan device to check" -- "$cli" selfcheck

echo "1..$n"
[ "$failed" -eq 0 ]
