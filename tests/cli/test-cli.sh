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
check "selfcheck on the CPU backend" 0 "all checks passed" -- env TESSERA_DEVICE=cpu "$cli" selfcheck
check "selfcheck against Vulkan when a device exists" 0 "all checks passed|No Vulkan device to check" -- "$cli" selfcheck

echo "1..$n"
[ "$failed" -eq 0 ]
