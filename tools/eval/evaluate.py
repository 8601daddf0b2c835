#!/usr/bin/python3
"""Evaluate a Tessera emoji model folder (diffusers layout) on the held-out split.

  /usr/bin/python3 tools/eval/evaluate.py --model data/models/tessera-emoji-128 \\
      --out data/train-runs/full/eval.json

1. VQ reconstruction PSNR on held-out images (single emoji on white, and held-out scenes), next
   to what bicubic thumbnails of 8x8, 16x16 and 32x32 pixels reach on the same images: the VQ
   keeps 64 tokens of 9 bits (576 bits) per 128x128 image, an 8x8 RGB thumbnail 1,536 bits.
2. A small classifier (style x category), trained only on real images of the training split,
   classifies images that the C engine (`tessera-cli generate`, default steps and guidance)
   generates for held-out captions: style accuracy, category accuracy, and an FID computed
   on the classifier's penultimate features against real held-out images. The same classifier
   on the real held-out images is the ceiling; on their VQ reconstructions it shows how much
   of style and category survives the VQ alone (no generator can do better through it).
Generation goes through the product's own CLI, so the numbers are the product's.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
sys.path.insert(0, os.path.join(ROOT, "tools", "data"))

import allocator  # noqa: E402

if __name__ == "__main__":
    allocator.use_jemalloc()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import amused_nets as nets  # noqa: E402
import safetensors_io as sio  # noqa: E402
from classifier import STEPS as CLASSIFIER_STEPS, train_classifier  # noqa: E402
from scenes import SIZE, STYLE_PHRASES, SceneMaker, fixed_samples  # noqa: E402


def load_vq(model_dir):
    folder = os.path.join(model_dir, "vqvae")
    vq = nets.VQModel(json.load(open(os.path.join(folder, "config.json"))))
    missing, unexpected = vq.load_state_dict(
        sio.load_torch(os.path.join(folder, "diffusion_pytorch_model.safetensors")), strict=False)
    if missing or unexpected:
        raise SystemExit(f"{folder}: weights do not fit the config ({missing[:3]} {unexpected[:3]})")
    return vq.eval()


def to_tensor(images):
    return torch.from_numpy(np.stack([np.asarray(i, dtype=np.uint8) for i in images])).permute(0, 3, 1, 2).float() / 255


def psnr_per_image(a, b):
    mse = ((a.clamp(0, 1) - b) ** 2).mean(dim=(1, 2, 3)).clamp_min(1e-10)
    return 10 * torch.log10(1.0 / mse)


def vq_reconstruct(vq, images, batch=32):
    """Encode -> nearest codes -> decode, rounded to 8 bits as the engine writes pixels."""
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            rec = vq.decode_indices(vq.nearest(vq.encode(to_tensor(images[i:i + batch]))))
            out.append((rec.clamp(0, 1) * 255).round() / 255)
    return torch.cat(out)


def mean_psnr(candidates, images):
    return float(psnr_per_image(candidates, to_tensor(images)).mean())


def thumbnail_psnr(images, side):
    """PSNR of a bicubic side x side thumbnail scaled back up: a yardstick for the VQ."""
    return mean_psnr(to_tensor([im.resize((side, side), Image.BICUBIC).resize(im.size, Image.BICUBIC)
                                for im in images]), images)



def single_on_white(maker, row):
    """The held-out 'real image' for a caption '<label>, <style>': the emoji centred on white,
    as the single-emoji training samples without a background phrase show it."""
    bg = Image.new("RGB", (SIZE, SIZE), (255, 255, 255))
    maker.paste(bg, row, SIZE / 2, SIZE / 2, int(SIZE * 0.76))
    return bg


def heldout_rows(maker, per_style, seed):
    """Base emoji (no skin tone, no flag) of the held-out split, up to per_style per style."""
    rng = random.Random(seed)
    rows = []
    for style in sorted(STYLE_PHRASES):
        pool = [r for r in maker.items if r["style"] == style and r["tone"] is None and not r["flag"]]
        rng.shuffle(pool)
        rows += pool[:per_style]
    return rows


def generate(cli, model, prompts, out_dir, log, extra=()):
    """One image per prompt through the C engine; seed = the prompt's index."""
    paths = []
    t0 = time.time()
    for i, prompt in enumerate(prompts):
        path = os.path.join(out_dir, f"gen-{i:04d}.png")
        subprocess.run([cli, "generate", "--model", model, "--prompt", prompt, "--seed", str(i),
                        "--output", path, "--quiet", "--device", "cpu", *extra], check=True)
        paths.append(path)
        if i % 50 == 49:
            log(f"generated {i + 1}/{len(prompts)} ({(time.time() - t0) / (i + 1):.2f} s each)")
    return [Image.open(p).convert("RGB") for p in paths], (time.time() - t0) / max(1, len(prompts))


def frechet(f1, f2):
    """Frechet distance between Gaussians fitted to two feature sets (float64)."""
    f1, f2 = f1.double(), f2.double()
    m1, m2 = f1.mean(0), f2.mean(0)
    c1, c2 = torch.cov(f1.T), torch.cov(f2.T)
    w, v = torch.linalg.eigh(c1)
    s1 = v @ torch.diag(w.clamp_min(0).sqrt()) @ v.T
    tr_sqrt = torch.linalg.eigvalsh(s1 @ c2 @ s1).clamp_min(0).sqrt().sum()
    return float(((m1 - m2) ** 2).sum() + c1.trace() + c2.trace() - 2 * tr_sqrt)


def classify(clf, images):
    with torch.no_grad():
        return clf(to_tensor(images))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "data", "models", "tessera-emoji-128"))
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "cache", "emoji128"))
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "app", "cli", "tessera-cli"))
    ap.add_argument("--classifier", default=os.path.join(ROOT, "data", "train-runs", "classifier.pt"),
                    help="trained once and reused (delete to retrain)")
    ap.add_argument("--classifier-steps", type=int, default=CLASSIFIER_STEPS)
    ap.add_argument("--per-style", type=int, default=30, help="held-out captions per style")
    ap.add_argument("--out", required=True, help="eval.json to write")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--guidance", help="instead of the product's default (for experiments; the bars use the default)")
    ap.add_argument("--steps", help="instead of the product's default")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    def log(msg):
        print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)

    train_maker, eval_maker = SceneMaker(args.data, "train"), SceneMaker(args.data, "eval")
    rows = heldout_rows(eval_maker, args.per_style, seed=1)
    real = [single_on_white(eval_maker, r) for r in rows]
    scenes = [im for im, _, _ in fixed_samples(eval_maker, 256, seed=5)]
    result = {"model": os.path.basename(os.path.normpath(args.model)), "heldout_images": len(real)}
    if args.guidance or args.steps:
        result["sampling"] = f"guidance {args.guidance or 'default'}, steps {args.steps or 'default'}"

    vq = load_vq(args.model)
    real_rec = vq_reconstruct(vq, real)
    result["vq_psnr_heldout_single_db"] = round(mean_psnr(real_rec, real), 2)
    result["vq_psnr_heldout_scenes_db"] = round(mean_psnr(vq_reconstruct(vq, scenes), scenes), 2)
    for side in (8, 16, 32):
        result[f"thumbnail_{side}px_psnr_heldout_single_db"] = round(thumbnail_psnr(real, side), 2)
    log(f"VQ PSNR: held-out single {result['vq_psnr_heldout_single_db']} dB, "
        f"scenes {result['vq_psnr_heldout_scenes_db']} dB")

    clf = train_classifier(train_maker, args.classifier, log, args.classifier_steps)
    styles, cats = clf.styles, clf.categories
    want_style = torch.tensor([styles.index(r["style"]) for r in rows])
    want_cat = torch.tensor([cats.index(r["category"]) for r in rows])
    s_real, c_real, f_real = classify(clf, real)
    ceiling_style = float((s_real.argmax(1) == want_style).float().mean())
    ceiling_cat = float((c_real.argmax(1) == want_cat).float().mean())
    with torch.no_grad():
        s_rec, c_rec, _ = clf(real_rec)
    rec_style = float((s_rec.argmax(1) == want_style).float().mean())
    rec_cat = float((c_rec.argmax(1) == want_cat).float().mean())

    prompts = [f"{r['label']}, {STYLE_PHRASES[r['style']]}" for r in rows]
    with tempfile.TemporaryDirectory() as tmp:
        extra = [a for k, v in (("--guidance", args.guidance), ("--steps", args.steps)) if v for a in (k, v)]
        gen, seconds_each = generate(args.cli, args.model, prompts, tmp, log, extra)
    s_gen, c_gen, f_gen = classify(clf, gen)
    style_acc = float((s_gen.argmax(1) == want_style).float().mean())
    cat_acc = float((c_gen.argmax(1) == want_cat).float().mean())
    # Reference FID: real training-split singles against the real held-out ones (the floor a
    # perfect generator of unseen emoji would approach).
    ref = [single_on_white(train_maker, r) for r in heldout_rows(train_maker, args.per_style, seed=2)]
    _, _, f_ref = classify(clf, ref)
    result.update({
        "generated_images": len(gen), "cli_seconds_per_image": round(seconds_each, 3),
        "style_accuracy_generated": round(style_acc, 3), "style_accuracy_real_ceiling": round(ceiling_style, 3),
        "category_accuracy_generated": round(cat_acc, 3), "category_accuracy_real_ceiling": round(ceiling_cat, 3),
        "category_fraction_of_ceiling": round(cat_acc / max(ceiling_cat, 1e-9), 3),
        "style_accuracy_vq_reconstructions": round(rec_style, 3),
        "category_accuracy_vq_reconstructions": round(rec_cat, 3),
        "fid_classifier_generated_vs_heldout": round(frechet(f_gen, f_real), 3),
        "fid_classifier_train_vs_heldout_reference": round(frechet(f_ref, f_real), 3),
        "bars": {"vq_psnr_db >= 26": result["vq_psnr_heldout_single_db"] >= 26,
                 "style_accuracy >= 0.8": style_acc >= 0.8,
                 "category >= 0.6 of ceiling": cat_acc >= 0.6 * ceiling_cat},
    })
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
