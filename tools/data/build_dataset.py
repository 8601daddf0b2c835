#!/usr/bin/python3
"""Build the emoji training set from the unpacked pinned packages (run fetch.py first).

Writes OUT/<style>/<key>.png (128x128 RGBA, transparent background), OUT/index.jsonl (one
line per image: style, key, base key, caption label, category, tone, flag, split) and
OUT/manifest.json (counts, licences, package pins, tool versions).

key = lowercase hex code points joined by "-", FE0F removed (sources disagree about FE0F).
Usage: /usr/bin/python3 tools/data/build_dataset.py [--cache data/cache] [--out DIR] [--jobs 2] [--limit N]
"""
import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
from multiprocessing import Pool

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from fetch import slug  # noqa: E402

SIZE = 128
EVAL_PERCENT = 5          # held-out share of base emoji (all styles of a held-out emoji are held out)
STYLE_PHRASES = {
    "noto": "noto style",
    "noto-v1": "blob style",
    "twemoji": "twemoji style",
    "fluent-3d": "3d style",
    "fluent-flat": "flat style",
    "fluent-hc": "black and white icon",
    "emojitwo": "emojione style",
}
SKIN = {"1f3fb", "1f3fc", "1f3fd", "1f3fe", "1f3ff"}


def norm_key(hexcode):
    parts = [p.lower().lstrip("0") or "0" for p in hexcode.replace("_", "-").split("-")]
    return "-".join(p.rjust(4, "0") for p in parts if p != "fe0f")


def pkg_dir(cache, spec, name):
    pkg = next(p for p in spec["packages"] if p["name"] == name)
    return os.path.join(cache, "unpacked", slug(pkg["name"], pkg["version"]), "package")


def load_captions(cache, spec):
    base = pkg_dir(cache, spec, "emojibase-data")
    data = json.load(open(os.path.join(base, "en", "data.json")))
    groups = json.load(open(os.path.join(base, "meta", "groups.json")))["groups"]
    out = {}
    for e in data:
        if "group" not in e or groups[str(e["group"])] == "component":
            continue
        bkey = norm_key(e["hexcode"])
        info = {"label": e["label"], "category": groups[str(e["group"])], "base": bkey, "tone": None,
                "flag": groups[str(e["group"])] == "flags" and e["label"].startswith("flag:")}
        out[bkey] = info
        for s in e.get("skins", []):
            tone = s.get("tone")
            out[norm_key(s["hexcode"])] = dict(info, label=s["label"],
                                               tone=tone if isinstance(tone, int) else "mixed")
    return out


def caption_label(label):
    if label.startswith("flag: "):
        return "flag of " + label[6:]
    return label.replace(": ", ", ").replace(":", ",")


def iconify_svgs(pkg_root):
    j = json.load(open(os.path.join(pkg_root, "icons.json")))
    dw, dh = j.get("width", 16), j.get("height", 16)

    def resolve(name):
        seen = 0
        while name in j.get("aliases", {}) and name not in j["icons"] and seen < 8:
            name = j["aliases"][name]["parent"]
            seen += 1
        return j["icons"].get(name)

    def svg(name):
        ic = resolve(name)
        if ic is None:
            return None
        w, h = ic.get("width", dw), ic.get("height", dh)
        left, top = ic.get("left", j.get("left", 0)), ic.get("top", j.get("top", 0))
        return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
                f'width="{w}" height="{h}" viewBox="{left} {top} {w} {h}">{ic["body"]}</svg>')
    names = list(j["icons"]) + list(j.get("aliases", {}))
    chars_path = os.path.join(pkg_root, "chars.json")
    chars = json.load(open(chars_path)) if os.path.exists(chars_path) else {}
    return names, chars, svg


def collect_sources(cache, spec, captions):
    """-> {style: {key: ("svg", text) | ("webp", path)}}"""
    sets = {}
    name_to_key = {}
    for p in spec["packages"]:
        if p.get("style") and p["name"].startswith("@iconify-json/"):
            names, chars, svg = iconify_svgs(pkg_dir(cache, spec, p["name"]))
            sets[p["style"]] = (names, chars, svg)
            for hexcode, name in chars.items():
                name_to_key.setdefault(name, norm_key(hexcode))
    # Iconify uses CLDR slugs; labels from emojibase fill the gaps of sets without chars.json.
    for key, info in captions.items():
        s = "".join(c if c.isalnum() else "-" for c in info["label"].lower())
        name_to_key.setdefault("-".join(t for t in s.split("-") if t), key)
    out = {}
    for style, (names, chars, svg) in sets.items():
        m = {}
        if chars:
            for hexcode, name in chars.items():
                m[norm_key(hexcode)] = name
        else:
            for name in names:
                k = name_to_key.get(name)
                if k and k not in m:
                    m[k] = name
        out[style] = {k: ("svg", svg, n) for k, n in m.items() if k in captions}
    # Fluent 3D: WebP files named by code point; medium-light/medium tones are swapped in this
    # package (datasets.md 2.2), so swap them back on load.
    d3 = os.path.join(pkg_dir(cache, spec, "@lobehub/fluent-emoji-3d"), "assets")
    swap = {"1f3fc": "1f3fd", "1f3fd": "1f3fc"}
    m = {}
    for f in os.listdir(d3):
        if f.endswith(".webp"):
            k = "-".join(swap.get(p, p) for p in norm_key(f[:-5]).split("-"))
            if k in captions:
                m[k] = ("webp", os.path.join(d3, f), None)
    out["fluent-3d"] = m
    return out


def choose(style_map, captions):
    """Keep every base emoji; of the single-tone skin variants keep one per base (chosen by hash)."""
    keep = {}
    by_base = {}
    for k in style_map:
        c = captions[k]
        if c["tone"] is None:
            keep[k] = style_map[k]
        elif isinstance(c["tone"], int):
            by_base.setdefault(c["base"], []).append(k)
    for base, ks in by_base.items():
        ks.sort()
        pick = ks[int(hashlib.sha1(base.encode()).hexdigest(), 16) % len(ks)]
        keep[pick] = style_map[pick]
    return keep


def split_of(base):
    return "eval" if int(hashlib.sha1(("split:" + base).encode()).hexdigest(), 16) % 100 < EVAL_PERCENT else "train"


def render(job):
    kind, src, name, out = job
    if os.path.exists(out):
        return out, True
    try:
        if kind == "svg":
            png = subprocess.run(["rsvg-convert", "-w", str(SIZE), "-h", str(SIZE), "-a"],
                                 input=src(name).encode(), capture_output=True, timeout=60).stdout
            img = Image.open(io.BytesIO(png)).convert("RGBA")
        else:
            img = Image.open(src).convert("RGBA")
        if img.size != (SIZE, SIZE):
            canvas = Image.new("RGBA", (SIZE, SIZE))
            img.thumbnail((SIZE, SIZE), Image.LANCZOS)
            canvas.paste(img, ((SIZE - img.width) // 2, (SIZE - img.height) // 2))
            img = canvas
        if img.getchannel("A").getbbox() is None:
            return out, False
        tmp = out + ".tmp.png"
        img.save(tmp, optimize=False)
        os.replace(tmp, out)
        return out, True
    except Exception:  # librsvg fails on a couple of SVGs (datasets.md): skip them
        return out, False


_SOURCES = None


def _init(sources):
    global _SOURCES
    _SOURCES = sources


def _render_job(args):
    style, key, out = args
    kind, src, name = _SOURCES[style][key]
    return render((kind, src, name, out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=os.path.join(ROOT, "data", "cache"))
    ap.add_argument("--out", default=None, help="output folder (default CACHE/emoji128)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="at most N images per style (quick tests)")
    args = ap.parse_args()
    spec = json.load(open(os.path.join(HERE, "packages.json")))
    outdir = args.out or os.path.join(args.cache, "emoji128")
    captions = load_captions(args.cache, spec)
    sources = collect_sources(args.cache, spec, captions)
    jobs, rows = [], []
    for style in STYLE_PHRASES:
        chosen = choose(sources[style], captions)
        keys = sorted(chosen)
        if args.limit:
            keys = keys[:args.limit]
        os.makedirs(os.path.join(outdir, style), exist_ok=True)
        for k in keys:
            c = captions[k]
            rows.append({"style": style, "key": k, "base": c["base"], "label": caption_label(c["label"]),
                         "category": c["category"], "tone": c["tone"], "flag": c["flag"],
                         "split": split_of(c["base"]), "file": f"{style}/{k}.png"})
            jobs.append((style, k, os.path.join(outdir, style, k + ".png")))
    # Sources hold closures; fork-based Pool shares them without pickling.
    _init(sources)
    with Pool(args.jobs) as pool:
        ok = dict(pool.imap_unordered(_render_job, jobs, chunksize=16))
    rows = [r for r in rows if ok.get(os.path.join(outdir, r["file"]))]
    with open(os.path.join(outdir, "index.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    counts = {}
    for r in rows:
        c = counts.setdefault(r["style"], {"train": 0, "eval": 0, "skin_tone": 0, "flags": 0})
        c[r["split"]] += 1
        c["skin_tone"] += r["tone"] is not None
        c["flags"] += r["flag"]
    rsvg = subprocess.run(["rsvg-convert", "--version"], capture_output=True, text=True).stdout.strip()
    manifest = {
        "size": SIZE, "format": "RGBA PNG, transparent background", "images": len(rows),
        "failed_renders": sum(1 for v in ok.values() if not v),
        "distinct_emoji": len({r["key"] for r in rows}), "distinct_base_emoji": len({r["base"] for r in rows}),
        "eval_base_emoji": len({r["base"] for r in rows if r["split"] == "eval"}),
        "per_style": counts, "style_phrases": STYLE_PHRASES,
        "packages": spec["packages"], "excluded": spec["excluded"],
        "tools": {"rsvg-convert": rsvg, "Pillow": Image.__version__},
        "rules": {"key": "hex code points joined by '-', FE0F removed",
                  "skin_tones": "one single-tone variant per base emoji and style (chosen by sha1 of the base key)",
                  "fluent-3d": "1f3fc and 1f3fd swapped back on load (package bug)",
                  "split": f"base emoji with sha1('split:'+base) % 100 < {EVAL_PERCENT} are held out in every style"},
    }
    json.dump(manifest, open(os.path.join(outdir, "manifest.json"), "w"), indent=1)
    print(json.dumps({k: manifest[k] for k in ("images", "failed_renders", "distinct_emoji",
                                                "distinct_base_emoji", "eval_base_emoji", "per_style")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
