#!/usr/bin/env python3
"""TAP test: run spirv-val (Vulkan 1.2 rules) on every embedded SPIR-V module.

Usage: spirv-val-all.py SPIRV_VAL MODULE.spv...
"""
import subprocess
import sys


def main():
    spirv_val, modules = sys.argv[1], sys.argv[2:]
    print('1..%d' % len(modules))
    failed = 0
    for i, path in enumerate(modules, 1):
        r = subprocess.run([spirv_val, '--target-env', 'vulkan1.2', path],
                           capture_output=True, text=True)
        if r.returncode == 0:
            print('ok %d %s' % (i, path))
        else:
            failed += 1
            print('not ok %d %s' % (i, path))
            for line in (r.stdout + r.stderr).splitlines():
                print('# ' + line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
