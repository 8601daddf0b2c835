#!/usr/bin/python3
"""Packs the training images for a lent GPU (tools/train/gpu-run.sh pack): the concept set in
every style, then other training-split emoji (base, no flags) for the VQ until the limit, as one
uncompressed tar with its own index.jsonl and manifest.json (PNG does not compress further)."""
import argparse
import io
import json
import os
import random
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data"))
from scenes import load_concepts, load_items  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/cache/emoji128")
    ap.add_argument("--concepts", default="tools/data/concepts.json")
    ap.add_argument("--out", default="data/train-runs/gpu-pack.tar")
    ap.add_argument("--limit-mib", type=float, default=46.0)
    args = ap.parse_args()
    limit = int(args.limit_mib * 1024 * 1024)
    rows = [json.loads(line) for line in open(os.path.join(args.data, "index.jsonl"))]
    concept_keys = {(r["style"], r["key"]) for r in load_items(args.data, "all", load_concepts(args.concepts))}
    first = [r for r in rows if (r["style"], r["key"]) in concept_keys]
    rest = [r for r in rows if (r["style"], r["key"]) not in concept_keys and not r["flag"]]
    random.Random(0).shuffle(rest)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    chosen = []
    with tarfile.open(args.out + ".tmp", "w") as tar:
        for r in first + rest:
            if tar.fileobj.tell() + os.path.getsize(os.path.join(args.data, r["file"])) + 4096 > limit - 2 * 1024 * 1024:
                if r in first:
                    raise SystemExit("the concept set alone is over the limit")
                break
            tar.add(os.path.join(args.data, r["file"]), "emoji128/" + r["file"])
            chosen.append(r)
        manifest = json.load(open(os.path.join(args.data, "manifest.json")))
        manifest["packed_for_gpu"] = {"images": len(chosen), "of": len(rows)}
        for name, blob in (("index.jsonl", "".join(json.dumps(r) + "\n" for r in chosen).encode()),
                           ("manifest.json", json.dumps(manifest, indent=1).encode())):
            info = tarfile.TarInfo("emoji128/" + name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    os.replace(args.out + ".tmp", args.out)
    mib = os.path.getsize(args.out) / 1024 / 1024
    print(f"{args.out}: {len(chosen)} of {len(rows)} images ({len(first)} concept-set), {mib:.1f} MiB")
    if mib > 48:
        raise SystemExit("over 48 MiB")


if __name__ == "__main__":
    main()
