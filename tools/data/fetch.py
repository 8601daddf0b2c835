#!/usr/bin/python3
"""Fetch the pinned npm tarballs (tools/data/packages.json) with `npm pack`, verify their
sha512 integrity, and unpack them under CACHE/unpacked/<name>@<version>/.

Usage: /usr/bin/python3 tools/data/fetch.py [--cache data/cache]
Only the npm registry is contacted (through npm itself, which also keeps its own cache).
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def slug(name, version):
    return name.replace("@", "").replace("/", "__") + "@" + version


def sri_sha512(path):
    h = hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha512-" + base64.b64encode(h.digest()).decode()


def fetch_one(pkg, cache):
    tdir = os.path.join(cache, "npm")
    os.makedirs(tdir, exist_ok=True)
    spec = f"{pkg['name']}@{pkg['version']}"
    tgz = os.path.join(tdir, slug(pkg["name"], pkg["version"]) + ".tgz")
    if not os.path.exists(tgz) or sri_sha512(tgz) != pkg["integrity"]:
        out = subprocess.run(["npm", "pack", spec, "--json", "--pack-destination", tdir],
                             check=True, capture_output=True, text=True).stdout
        info = json.loads(out[out.index("["):])[0]
        os.replace(os.path.join(tdir, info["filename"]), tgz)
    got = sri_sha512(tgz)
    if got != pkg["integrity"]:
        raise SystemExit(f"{spec}: integrity mismatch: got {got}, pinned {pkg['integrity']}")
    dest = os.path.join(cache, "unpacked", slug(pkg["name"], pkg["version"]))
    if not os.path.isdir(dest):
        tmp = dest + ".tmp"
        os.makedirs(tmp, exist_ok=True)
        with tarfile.open(tgz) as tf:
            for m in tf.getmembers():
                if m.name.startswith("/") or ".." in m.name.split("/") or not (m.isfile() or m.isdir()):
                    raise SystemExit(f"{spec}: unsafe tar member {m.name}")
            tf.extractall(tmp)
        os.replace(tmp, dest)
    print(f"ok {spec} {os.path.getsize(tgz) / 1e6:.1f} MB")
    return dest


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=os.path.join(ROOT, "data", "cache"))
    args = ap.parse_args()
    spec = json.load(open(os.path.join(HERE, "packages.json")))
    for pkg in spec["packages"]:
        fetch_one(pkg, args.cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
