#!/usr/bin/python3
"""Does the C engine decode a model's VQ as PyTorch does? (issue 17 §1)

  /usr/bin/python3 tools/eval/engine_vq_check.py --model MODEL_DIR [--cli build/app/cli/tessera-cli]

A restyle with strength 0 masks no token: the engine encodes the image, snaps it to the
codebook and decodes it. The same through tools/train's PyTorch VQModel must agree within 1/255
per channel on every pixel (a few pixels may differ more where an encoder output lies halfway
between two codes: reported). Runs on every device named in --devices (TESSERA_DEVICE)."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from evaluate import load_vq, to_tensor  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "app", "cli", "tessera-cli"))
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "cache", "emoji128"))
    ap.add_argument("--devices", default="cpu,vulkan")
    ap.add_argument("--images", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    vq = load_vq(args.model)
    rows = [json.loads(line) for line in open(os.path.join(args.data, "index.jsonl"))][::997][:args.images]
    worst, ok = 0, True
    with tempfile.TemporaryDirectory() as tmp:
        for k, r in enumerate(rows):
            src = Image.open(os.path.join(args.data, r["file"])).convert("RGBA")
            im = Image.new("RGB", src.size, (255, 255, 255))
            im.paste(src, (0, 0), src)
            path = os.path.join(tmp, f"in{k}.png")
            im.save(path)
            with torch.no_grad():
                ref = vq.decode_indices(vq.nearest(vq.encode(to_tensor([im]))))[0]
            ref = (ref.clamp(0, 1) * 255).round().permute(1, 2, 0).numpy()
            for dev in args.devices.split(","):
                out = os.path.join(tmp, f"out{k}-{dev}.png")
                env = dict(os.environ, TESSERA_DEVICE=dev)
                subprocess.run([args.cli, "restyle", path, "x", "--strength", "0", "--output", out, "--quiet",
                                "--model", args.model], check=True, env=env)
                got = np.asarray(Image.open(out).convert("RGB"), dtype=np.float64)
                diff = np.abs(got - ref)
                over = float((diff > 1).any(axis=2).mean())
                worst = max(worst, float(diff.max()))
                print(f"{r['file']} {dev}: max |engine - torch| {diff.max():.0f}/255, mean {diff.mean():.3f}, "
                      f"pixels over 1/255: {100 * over:.2f} %")
                ok = ok and over < 0.01
    print("PASS" if ok else "FAIL", f"(worst {worst:.0f}/255)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
