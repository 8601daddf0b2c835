#!/usr/bin/python3
"""vocabulary.json: what a model was trained to draw, for the editor's prompt completion.

  /usr/bin/python3 tools/data/vocabulary.py --data data/cache/emoji128 \\
      --out data/models/tessera-emoji-128/vocabulary.json [--concepts tools/data/concepts.json]

Schema (the editor reads exactly this):
  {"concepts": [...], "styles": [...], "scene": {"positions": [...], "backgrounds": [...]},
   "examples": [...]}   # examples[0] is the prompt entry's placeholder
Without --concepts every base emoji of the training split (as the first-generation model was
trained); with it, the concept set of tools/data/concepts.json."""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenes import COLOURS, STYLE_PHRASES, load_items  # noqa: E402

STYLES = ["3d style", "flat style", "noto style", "twemoji style", "emojione style", "blob style",
          "black and white icon"]
POSITIONS = ["left of", "above", "in the top left", "at the top", "in the top right", "on the left",
             "on the right", "in the bottom left", "at the bottom", "in the bottom right",
             "from left to right"]
EXAMPLES = ["red apple, 3d style", "grinning face, noto style", "red heart, twemoji style", "sun, flat style",
            "pizza, emojione style", "star, black and white icon", "cat face, blob style",
            "a dog face left of a red apple on a light blue background, flat style"]


def backgrounds():
    out = ["on a white background"]
    out += [f"on {'an' if n[0] in 'aeiou' else 'a'} {n} background" for n, _ in COLOURS if n != "white"]
    out += ["on a blue to purple gradient background", "on a yellow and white striped background",
            "on a pink background with white dots", "on a black and white checkered background"]
    return out


def vocabulary(data_dir, concepts_path=None):
    if concepts_path:
        concepts = sorted((c["label"] for c in json.load(open(concepts_path))["concepts"]), key=str.lower)
    else:
        labels = {r["label"] for r in load_items(data_dir, "train") if r["tone"] is None and not r["flag"]}
        concepts = sorted(labels, key=str.lower)
    assert sorted(STYLES) == sorted(STYLE_PHRASES.values())
    examples = [e for e in EXAMPLES if e.split(",")[0] in concepts or " " in e.split(",")[0] and "left of" in e]
    return {"concepts": concepts, "styles": STYLES,
            "scene": {"positions": POSITIONS, "backgrounds": backgrounds()}, "examples": examples}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/cache/emoji128")
    ap.add_argument("--concepts", default=None)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    v = vocabulary(args.data, args.concepts)
    with open(args.out, "w") as f:
        json.dump(v, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{args.out}: {len(v['concepts'])} concepts, {len(v['examples'])} examples")


if __name__ == "__main__":
    main()
