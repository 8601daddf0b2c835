#!/usr/bin/env python3
"""Print one value of a goldens manifest, e.g. `manifest_get.py manifest.json tiny_model.dir`
(used by tests/meson.build to find the tiny model's folder at configure time)."""
import json
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: manifest_get.py MANIFEST KEY[.KEY...]")
    with open(sys.argv[1], encoding="utf-8") as f:
        value = json.load(f)
    for key in sys.argv[2].split("."):
        if not isinstance(value, dict) or key not in value:
            sys.exit(f"{sys.argv[1]}: no {sys.argv[2]}")
        value = value[key]
    print(value)


if __name__ == "__main__":
    main()
