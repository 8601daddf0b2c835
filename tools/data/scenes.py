#!/usr/bin/python3
"""On-the-fly training images from the emoji set built by build_dataset.py.

Two kinds of sample, both 128x128 RGB with a caption:
  * single: one emoji, large and roughly centred ("red apple, 3d style" on white, or
    "red apple on a pink background, 3d style");
  * scene: 1-3 smaller emoji at different positions and sizes on a solid, gradient or
    patterned background, captioned with contents, relative positions and background
    ("a cat face left of a red apple on a pink background, flat style").
Skin-tone variants and flags are sampled with lower weight. The split (train / eval) is by
base emoji, so eval captions name emoji never seen in training.

Preview: /usr/bin/python3 tools/data/scenes.py --data data/cache/emoji128 --sheet /tmp/sheet.png
"""
import argparse
import json
import os
import random

from PIL import Image, ImageDraw

SIZE = 128
STYLE_PHRASES = {
    "noto": "noto style", "noto-v1": "blob style", "twemoji": "twemoji style", "fluent-3d": "3d style",
    "fluent-flat": "flat style", "fluent-hc": "black and white icon", "emojitwo": "emojione style",
}
COLOURS = [
    ("red", (214, 48, 49)), ("orange", (243, 134, 48)), ("yellow", (250, 214, 64)), ("green", (76, 175, 80)),
    ("dark green", (27, 94, 32)), ("blue", (41, 98, 255)), ("light blue", (144, 202, 249)),
    ("navy", (26, 35, 96)), ("purple", (126, 87, 194)), ("pink", (244, 143, 177)), ("brown", (121, 85, 72)),
    ("black", (20, 20, 20)), ("white", (255, 255, 255)), ("grey", (158, 158, 158)), ("beige", (239, 222, 190)),
    ("teal", (0, 137, 123)),
]
# Solid backgrounds never rendered in training (they still appear in gradients, stripes, dots and
# checks): the evaluation's in-distribution scene prompts use them (issue 17 §4a).
HELDOUT_SOLID = ("teal", "beige")
WEIGHT_SKIN = 0.3
WEIGHT_FLAG = 0.25
P_SINGLE = 0.5
PLACES = {(0, 0): "in the top left", (1, 0): "at the top", (2, 0): "in the top right",
          (0, 1): "on the left", (2, 1): "on the right", (0, 2): "in the bottom left",
          (1, 2): "at the bottom", (2, 2): "in the bottom right"}
CANONICAL_SIZE = 0.76   # of the side, for a prompt with no place or background


def load_items(data_dir, split, concepts=None):
    """split: train / eval / all. With concepts (concepts.json's dict, tools/data/concepts.py)
    the items are the concept set's base emoji in every style, whatever their split:
    "train" without the held-out concept x style pairs, "heldout-pairs" only those, "all" both."""
    rows = [json.loads(line) for line in open(os.path.join(data_dir, "index.jsonl"))]
    if concepts is None:
        return [r for r in rows if split in (None, "all") or r["split"] == split]
    labels = {c["label"] for c in concepts["concepts"]}
    held = {tuple(p) for p in concepts["heldout_pairs"]}
    rows = [r for r in rows if r["tone"] is None and not r["flag"] and r["label"] in labels]
    if split == "heldout-pairs":
        return [r for r in rows if (r["label"], r["style"]) in held]
    if split == "train":
        return [r for r in rows if (r["label"], r["style"]) not in held]
    return rows


def load_concepts(path):
    return json.load(open(path)) if path else None


def item_weight(r):
    return WEIGHT_FLAG if r["flag"] else WEIGHT_SKIN if r["tone"] is not None else 1.0


def article(phrase):
    return ("an " if phrase[0].lower() in "aeiou8" else "a ") + phrase


class SceneMaker:
    def __init__(self, data_dir, split="train", p_single=P_SINGLE, concepts=None, heldout_solid=None):
        self.dir = data_dir
        self.items = load_items(data_dir, split, concepts)
        # training never renders the held-out solid backgrounds
        self.heldout_solid = (split == "train") if heldout_solid is None else heldout_solid
        if not self.items:
            raise ValueError(f"{data_dir}: no items in split {split}")
        self.weights = [item_weight(r) for r in self.items]
        self.by_style = {}
        for i, r in enumerate(self.items):
            # Scenes use base emoji only: their labels have no commas and read well in a sentence.
            if r["tone"] is None and "," not in r["label"]:
                self.by_style.setdefault(r["style"], []).append(i)
        self.p_single = p_single
        self.cache = {}

    def image(self, r):
        im = self.cache.get(r["file"])
        if im is None:
            im = Image.open(os.path.join(self.dir, r["file"])).convert("RGBA")
            im.load()
            self.cache[r["file"]] = im
        return im

    # ---- backgrounds -------------------------------------------------------------------------
    def background(self, rng, plain_white):
        if plain_white:
            return Image.new("RGB", (SIZE, SIZE), (255, 255, 255)), None
        kind = rng.choices(["solid", "gradient", "stripes", "dots", "checks"], [4, 3, 1, 1, 1])[0]
        (n1, c1), (n2, c2) = rng.sample(COLOURS, 2)
        if kind == "solid" and self.heldout_solid and n1 in HELDOUT_SOLID:
            kind = "gradient"
        bg = Image.new("RGB", (SIZE, SIZE), c1)
        d = ImageDraw.Draw(bg)
        if kind == "solid":
            return bg, f"on {article(n1)} background"
        if kind == "gradient":
            vertical = rng.random() < 0.5
            for t in range(SIZE):
                a = t / (SIZE - 1)
                col = tuple(int(round(c1[k] * (1 - a) + c2[k] * a)) for k in range(3))
                d.line([(0, t), (SIZE, t)] if vertical else [(t, 0), (t, SIZE)], fill=col)
            return bg, f"on {article(n1)} to {n2} gradient background"
        if kind == "stripes":
            w = rng.choice([8, 12, 16])
            vertical = rng.random() < 0.5
            for s in range(0, SIZE, 2 * w):
                d.rectangle([s, 0, s + w - 1, SIZE] if vertical else [0, s, SIZE, s + w - 1], fill=c2)
            return bg, f"on {article(n1)} and {n2} striped background"
        if kind == "dots":
            step = rng.choice([16, 21, 26])
            r = step // 5
            for y in range(step // 2, SIZE, step):
                for x in range(step // 2, SIZE, step):
                    d.ellipse([x - r, y - r, x + r, y + r], fill=c2)
            return bg, f"on {article(n1)} background with {n2} dots"
        w = rng.choice([16, 32])
        for y in range(0, SIZE, w):
            for x in range(0, SIZE, w):
                if (x // w + y // w) % 2:
                    d.rectangle([x, y, x + w - 1, y + w - 1], fill=c2)
        return bg, f"on {article(n1)} and {n2} checkered background"

    def paste(self, bg, r, cx, cy, size):
        im = self.image(r).resize((size, size), Image.LANCZOS)
        bg.paste(im, (int(round(cx - size / 2)), int(round(cy - size / 2))), im)

    # ---- samples -----------------------------------------------------------------------------
    def single(self, rng, r):
        white = rng.random() < 0.5
        bg, bgtext = self.background(rng, white)
        size = int(SIZE * rng.uniform(0.62, 0.9))
        jitter = (SIZE - size) / 2
        self.paste(bg, r, SIZE / 2 + rng.uniform(-jitter, jitter) * 0.5, SIZE / 2 + rng.uniform(-jitter, jitter) * 0.5,
                   size)
        text = r["label"] if bgtext is None else f"{r['label']} {bgtext}"
        return bg, f"{text}, {STYLE_PHRASES[r['style']]}", [r]

    def scene(self, rng, style):
        pool = self.by_style[style]
        n = rng.choices([1, 2, 3], [1, 3, 2])[0]
        picks = [self.items[i] for i in rng.sample(pool, n)]
        bg, bgtext = self.background(rng, rng.random() < 0.15)
        bgtext = bgtext or "on a white background"
        if n == 1:
            text = self.place_one(rng, bg, bgtext, picks[0])
        elif n == 2:
            size = int(SIZE * rng.uniform(0.36, 0.48))
            horizontal = rng.random() < 0.65
            lo, hi = size / 2 + 2, SIZE - size / 2 - 2
            a, b = rng.uniform(lo, SIZE * 0.3), rng.uniform(SIZE * 0.7, hi)
            c1, c2 = rng.uniform(lo, hi), rng.uniform(lo, hi)
            pos = [(a, c1), (b, c2)] if horizontal else [(c1, a), (c2, b)]
            for p, (x, y) in zip(picks, pos):
                self.paste(bg, p, x, y, size)
            rel = "left of" if horizontal else "above"
            text = f"{article(picks[0]['label'])} {rel} {article(picks[1]['label'])} {bgtext}"
        else:
            size = int(SIZE * rng.uniform(0.28, 0.33))
            y = rng.uniform(size / 2 + 2, SIZE - size / 2 - 2)
            for k, p in enumerate(picks):
                x = size / 2 + 2 + k * (SIZE - size - 4) / 2
                self.paste(bg, p, x, y + rng.uniform(-6, 6), size)
            names = [article(p["label"]) for p in picks]
            text = f"{names[0]}, {names[1]} and {names[2]} from left to right {bgtext}"
        return bg, f"{text}, {STYLE_PHRASES[style]}", picks

    def place_one(self, rng, bg, bgtext, r):
        """Pastes r at one of the eight places off the centre; returns the caption's text."""
        size = int(SIZE * rng.uniform(0.35, 0.5))
        gx, gy = rng.randrange(3), rng.randrange(3)
        if gx == 1 and gy == 1:
            gx = rng.choice([0, 2])
        cx = size / 2 + 2 + gx * (SIZE - size - 4) / 2
        cy = size / 2 + 2 + gy * (SIZE - size - 4) / 2
        self.paste(bg, r, cx, cy, size)
        return f"{article(r['label'])} {PLACES[(gx, gy)]} {bgtext}"

    def placed(self, r, rng):
        """One item at a named place on a background: the one-object scene prompt ('a red apple
        in the top left on a pink background, flat style') and what inpainting a small region
        asks of the model. The transformer's placed bank has every training item a few times."""
        bg, bgtext = self.background(rng, rng.random() < 0.15)
        text = self.place_one(rng, bg, bgtext or "on a white background", r)
        return bg, f"{text}, {STYLE_PHRASES[r['style']]}"

    def canonical(self, r):
        """The plain prompt's picture, '<label>, <style>': the emoji centred on white at 76 % of
        the side. The transformer's canonical bank trains on it and the evaluation's real images
        are it, so that a prompt without a place or background draws one predictable layout."""
        bg = Image.new("RGB", (SIZE, SIZE), (255, 255, 255))
        self.paste(bg, r, SIZE / 2, SIZE / 2, int(SIZE * CANONICAL_SIZE))
        return bg, f"{r['label']}, {STYLE_PHRASES[r['style']]}"

    def solid(self, name):
        """A background of one named colour and its phrase (the evaluation's scene prompts)."""
        rgb = dict(COLOURS)[name]
        return Image.new("RGB", (SIZE, SIZE), rgb), f"on {article(name)} background"

    def sample(self, rng):
        """-> (PIL RGB 128x128, caption, list of index rows shown; first is the main one)."""
        if rng.random() < self.p_single:
            r = self.items[rng.choices(range(len(self.items)), self.weights)[0]]
            return self.single(rng, r)
        style = rng.choice(sorted(self.by_style))
        return self.scene(rng, style)


def fixed_samples(maker, n, seed):
    """Deterministic list of n samples (sample i uses Random(seed * 1000003 + i))."""
    return [maker.sample(random.Random(seed * 1000003 + i)) for i in range(n)]


def main():
    ap = argparse.ArgumentParser(description="contact sheet of generated training samples")
    ap.add_argument("--data", default="data/cache/emoji128")
    ap.add_argument("--split", default="train")
    ap.add_argument("--sheet", required=True)
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--concepts", default=None, help="tools/data/concepts.json: the concept set only")
    args = ap.parse_args()
    maker = SceneMaker(args.data, args.split, concepts=load_concepts(args.concepts))
    cols = 6
    rows = (args.n + cols - 1) // cols
    sheet = Image.new("RGB", (cols * SIZE, rows * SIZE), "white")
    for i, (im, cap, _) in enumerate(fixed_samples(maker, args.n, args.seed)):
        sheet.paste(im, ((i % cols) * SIZE, (i // cols) * SIZE))
        print(i, cap)
    sheet.save(args.sheet)


if __name__ == "__main__":
    main()
