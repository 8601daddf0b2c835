#!/usr/bin/python3
"""Contact sheets of a model's work through the C engine (`tessera-cli`), for docs/.

  /usr/bin/python3 tools/eval/sheets.py --model data/models/tessera-emoji-128 --out docs/model

samples.png: fixed prompts x seeds (default steps and guidance). inpaint.png, outpaint.png,
background.png, edit.png, restyle.png: input (and mask) followed by results for two seeds.
Every image is made by the product's CLI with the command lines printed to commands.txt.
"""
import argparse
import os
import subprocess
import sys
import tempfile

from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

PROMPTS = [   # 16 fixed prompts (issue 17), all in the concept set of tools/data/concepts.json
    "red apple, 3d style",
    "grinning face, noto style",
    "red heart, twemoji style",
    "sun, flat style",
    "pizza, emojione style",
    "star, black and white icon",
    "cat face, blob style",
    "rocket, twemoji style",
    "smiling face with sunglasses, noto style",
    "deciduous tree, 3d style",
    "thumbs up, flat style",
    "house, black and white icon",
    "butterfly on a light blue background, emojione style",
    "a dog face left of a red apple on a pink background, flat style",
    "a star in the top right on a blue background, 3d style",
    "a pizza, a banana and a birthday cake from left to right on a white background, noto style",
]
SEEDS = [1, 2, 3, 4]
CELL = 128
LABEL = 14


class Cli:
    def __init__(self, cli, model, work):
        self.cli, self.model, self.work, self.log = cli, model, work, []

    def __call__(self, name, mode, *args):
        out = os.path.join(self.work, name + ".png")
        cmd = [self.cli, mode, "--model", self.model, "--device", "cpu", "--quiet", "--output", out, *args]
        subprocess.run(cmd, check=True)
        self.log.append(" ".join(a if " " not in a else f'"{a}"' for a in [os.path.basename(self.cli), *cmd[1:]])
                        .replace(self.work + "/", "").replace(self.model, os.path.relpath(self.model, ROOT)))
        return Image.open(out).convert("RGB")


def labelled_row(cells, title):
    """cells: [(PIL image, caption)] -> one strip with a title line and a caption per cell."""
    width = sum(im.width for im, _ in cells) + 4 * (len(cells) + 1)
    height = max(im.height for im, _ in cells) + 2 * LABEL + 12
    row = Image.new("RGB", (width, height), (250, 250, 250))
    d = ImageDraw.Draw(row)
    d.text((4, 2), title, fill=(0, 0, 0))
    x = 4
    for im, caption in cells:
        row.paste(im, (x, LABEL + 6))
        d.text((x, LABEL + 8 + im.height), caption, fill=(60, 60, 60))
        x += im.width + 4
    return row


def stack(rows):
    sheet = Image.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows)), (250, 250, 250))
    y = 0
    for r in rows:
        sheet.paste(r, (0, y))
        y += r.height
    return sheet


def mask_image(box, size=(CELL, CELL)):
    m = Image.new("L", size, 0)
    ImageDraw.Draw(m).rectangle(box, fill=255)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "data", "models", "tessera-emoji-128"))
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "app", "cli", "tessera-cli"))
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "cache", "emoji128"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "model"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        run = Cli(args.cli, args.model, work)
        rows = [labelled_row([(run(f"s{p}-{s}", "generate", "-p", prompt, "-s", str(s)), f"seed {s}")
                              for s in SEEDS], prompt) for p, prompt in enumerate(PROMPTS)]
        stack(rows).save(os.path.join(args.out, "samples.png"))

        def save_input(name, im):
            path = os.path.join(work, name + ".png")
            im.save(path)
            return path

        def strip(name, title, inputs, mode, *cli_args):
            """The inputs, then the mode's result for seeds 1 and 2."""
            results = [(run(f"{name}{s}", mode, *cli_args, "-s", str(s)), f"seed {s}") for s in (1, 2)]
            return labelled_row(inputs + results, title)

        def mode_sheet(name, title, inputs, mode, *cli_args, more=()):
            """One strip (and any more strips made by strip())."""
            stack([strip(name, title, inputs, mode, *cli_args), *more]).save(os.path.join(args.out, name + ".png"))

        pair = run("pair", "generate", "-p", "a dog face left of a red apple on a light blue background, flat style",
                   "-s", "5")
        pair_path = save_input("pair-in", pair)
        right = save_input("right-mask", mask_image((64, 16, 127, 111)))
        # one object at a named place, drawn into a plain picture: what inpainting a region asks
        plain = Image.new("RGB", (CELL, CELL), (144, 202, 249))
        plain_path = save_input("light-blue", plain)
        corner = save_input("corner-mask", mask_image((60, 0, 127, 67)))
        prompt = "a cat face in the top right on a light blue background, flat style"
        placed = strip("inpaint-placed", f"inpaint: {prompt}",
                       [(plain, "input"), (Image.open(corner).convert("RGB"), "mask")],
                       "inpaint", plain_path, "--mask", corner, "-p", prompt)
        prompt = "a dog face left of a cat face on a light blue background, flat style"
        mode_sheet("inpaint", f"inpaint: {prompt}", [(pair, "input"), (Image.open(right).convert("RGB"), "mask")],
                   "inpaint", pair_path, "--mask", right, "-p", prompt, more=[placed])
        prompt = "a dog face left of a red apple on a light blue background, flat style"
        mode_sheet("outpaint", f"outpaint, +64 px left and right: {prompt}", [(pair, "input")],
                   "outpaint", pair_path, "--extend", "left=64,right=64", "-p", prompt)

        apple = run("apple", "generate", "-p", "red apple, 3d style", "-s", "3")
        apple_path = save_input("apple-in", apple)
        subject = save_input("subject", mask_image((20, 20, 107, 107)))
        prompt = "red apple on a pink and white striped background, 3d style"
        mode_sheet("background", f"background: {prompt}",
                   [(apple, "input"), (Image.open(subject).convert("RGB"), "subject mask")],
                   "background", apple_path, "--mask", subject, "-p", prompt)
        prompt = "red apple on a green background, 3d style"
        mode_sheet("edit", f"edit (no mask): {prompt}", [(apple, "input")], "edit", apple_path, "-p", prompt)

        photo = Image.new("RGB", (CELL, CELL), (255, 255, 255))
        emoji = Image.open(os.path.join(args.data, "noto", "1f34e.png")).convert("RGBA").resize((96, 96))
        photo.paste(emoji, (16, 16), emoji)
        photo_path = save_input("noto-apple", photo)
        prompt = "red apple, flat style"
        mode_sheet("restyle", f"restyle: {prompt}", [(photo, "input (noto)")], "restyle", photo_path, "-p", prompt)
        with open(os.path.join(args.out, "commands.txt"), "w") as f:
            f.write("# The CLI commands that made these sheets (tools/eval/sheets.py); inputs were\n"
                    "# the outputs named in earlier lines, masks drawn by the script.\n")
            f.write("\n".join(run.log) + "\n")
    print(f"wrote sheets to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
