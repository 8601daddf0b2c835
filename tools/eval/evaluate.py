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
3. The same accuracies from a second classifier trained on real images blurred through
   12-64 px thumbnails, on real, VQ-reconstructed, generated and thumbnail images: whether a
   blurry image's style is wrong or merely blurry. --vq-only stops after the VQ's measures.
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

import blas_core  # noqa: E402,F401  (before torch loads OpenBLAS)
import allocator  # noqa: E402

if __name__ == "__main__":
    allocator.use_jemalloc()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import amused_nets as nets  # noqa: E402
import safetensors_io as sio  # noqa: E402
from classifier import STEPS as CLASSIFIER_STEPS, train_classifier  # noqa: E402
from positions import distinct_positions  # noqa: E402
from scenes import SIZE, STYLE_PHRASES, SceneMaker, article, fixed_samples, load_concepts  # noqa: E402


def load_vq_checkpoint(path):
    """A training checkpoint (train_vq.py's vq.pt: its config and weights), for VQ experiments."""
    ck = torch.load(path, map_location="cpu")
    vq = nets.VQModel(ck["config"])
    vq.load_state_dict(ck["model"])
    return vq.eval()


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


def thumbnails(images, side):
    """Bicubic side x side thumbnails scaled back up: a yardstick for the VQ."""
    return to_tensor([im.resize((side, side), Image.BICUBIC).resize(im.size, Image.BICUBIC) for im in images])



def single_on_white(maker, row):
    """The 'real image' for a caption '<label>, <style>' (SceneMaker.canonical)."""
    return maker.canonical(row)[0]


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
        return clf(images if torch.is_tensor(images) else to_tensor(images))


def accuracies(clf, images, rows):
    """(style accuracy, category accuracy, features) of clf on images whose true labels are rows'."""
    s, c, f = classify(clf, images)
    want_style = torch.tensor([clf.styles.index(r["style"]) for r in rows])
    want_cat = torch.tensor([clf.categories.index(r["category"]) for r in rows])
    return float((s.argmax(1) == want_style).float().mean()), float((c.argmax(1) == want_cat).float().mean()), f


def write_vq_sheet(path, rows, real, real_rec, per_style=2):
    """Columns: per_style held-out emoji of each style; rows: the real image, its VQ
    reconstruction, its 8x8 thumbnail scaled back up."""
    keep, count = [], {}
    for i, r in enumerate(rows):
        count[r["style"]] = count.get(r["style"], 0) + 1
        if count[r["style"]] <= per_style:
            keep.append(i)
    lines = [[real[i] for i in keep],
             [to_image(real_rec[i]) for i in keep],
             [to_image(t) for t in thumbnails([real[i] for i in keep], 8)]]
    sheet = Image.new("RGB", (len(keep) * SIZE, len(lines) * SIZE), "white")
    for y, row in enumerate(lines):
        for x, im in enumerate(row):
            sheet.paste(im, (x * SIZE, y * SIZE))
    sheet.resize((sheet.width // 2, sheet.height // 2), Image.LANCZOS).save(path)


def to_image(t):
    return Image.fromarray((t.permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(np.uint8))


def blur_robust_accuracies(train_maker, args, log, rows, real, real_rec, gen):
    """The same measures with the classifier trained on thumbnail-blurred real images: how
    much style and category the images carry at the detail the VQ keeps. Reported next to
    the plain classifier's, which the bars use."""
    clf = train_classifier(train_maker, args.blur_classifier, log, args.classifier_steps, blur=True)
    out = {}
    for name, images in (("real", real), ("vq_reconstructions", real_rec), ("generated", gen),
                         ("8px_thumbnails", thumbnails(real, 8)), ("16px_thumbnails", thumbnails(real, 16))):
        if images is None:
            continue
        style, cat, _ = accuracies(clf, images, rows)
        out[f"blur_robust_classifier_style_accuracy_{name}"] = round(style, 3)
        out[f"blur_robust_classifier_category_accuracy_{name}"] = round(cat, 3)
    return out


def legacy_main(args):
    """The first-generation evaluation (held-out emoji, category classifier): --concepts ''."""
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

    vq = load_vq_checkpoint(args.vq_checkpoint) if args.vq_checkpoint else load_vq(args.model)
    real_rec = vq_reconstruct(vq, real)
    if args.vq_sheet:
        write_vq_sheet(args.vq_sheet, rows, real, real_rec)
    result["vq_psnr_heldout_single_db"] = round(mean_psnr(real_rec, real), 2)
    result["vq_psnr_heldout_scenes_db"] = round(mean_psnr(vq_reconstruct(vq, scenes), scenes), 2)
    for side in (8, 16, 32):
        result[f"thumbnail_{side}px_psnr_heldout_single_db"] = round(mean_psnr(thumbnails(real, side), real), 2)
    log(f"VQ PSNR: held-out single {result['vq_psnr_heldout_single_db']} dB, "
        f"scenes {result['vq_psnr_heldout_scenes_db']} dB")

    clf = train_classifier(train_maker, args.classifier, log, args.classifier_steps)
    ceiling_style, ceiling_cat, f_real = accuracies(clf, real, rows)
    rec_style, rec_cat, _ = accuracies(clf, real_rec, rows)
    if args.vq_only:
        result.update({"style_accuracy_real_ceiling": round(ceiling_style, 3),
                       "category_accuracy_real_ceiling": round(ceiling_cat, 3),
                       "style_accuracy_vq_reconstructions": round(rec_style, 3),
                       "category_accuracy_vq_reconstructions": round(rec_cat, 3),
                       **blur_robust_accuracies(train_maker, args, log, rows, real, real_rec, None)})
        return write_result(result, args.out)

    prompts = [f"{r['label']}, {STYLE_PHRASES[r['style']]}" for r in rows]
    with tempfile.TemporaryDirectory() as tmp:
        extra = [a for k, v in (("--guidance", args.guidance), ("--steps", args.steps)) if v for a in (k, v)]
        gen, seconds_each = generate(args.cli, args.model, prompts, tmp, log, extra)
    style_acc, cat_acc, f_gen = accuracies(clf, gen, rows)
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
        **blur_robust_accuracies(train_maker, args, log, rows, real, real_rec, gen),
        "bars": {"vq_psnr_db >= 26": result["vq_psnr_heldout_single_db"] >= 26,
                 "style_accuracy >= 0.8": style_acc >= 0.8,
                 "category >= 0.6 of ceiling": cat_acc >= 0.6 * ceiling_cat},
    })
    return write_result(result, args.out)


CONCEPT_CLASSIFIER_STEPS = 2000
HELDOUT_SOLIDS = ("teal", "beige")
SCENE_PLACES = ("in the top left", "at the top", "in the top right", "on the left", "on the right",
                "in the bottom left", "at the bottom", "in the bottom right")


def concept_rows(maker, per_style, seed):
    """per_style concept-set rows of each style (every concept once per style when per_style
    is at least the concept count)."""
    rng = random.Random(seed)
    rows = []
    for style in sorted(STYLE_PHRASES):
        pool = [r for r in maker.items if r["style"] == style]
        rng.shuffle(pool)
        rows += pool[:per_style]
    return rows


def scene_prompts(rows, seed):
    """In-distribution scene prompts on the solid backgrounds that training never rendered."""
    rng = random.Random(seed)
    return [f"{article(r['label'])} {rng.choice(SCENE_PLACES)} on {article(rng.choice(HELDOUT_SOLIDS))} background, "
            f"{STYLE_PHRASES[r['style']]}" for r in rows]


def concept_accuracies(clf, images, rows):
    s, c, f = classify(clf, images)
    want_style = torch.tensor([clf.styles.index(r["style"]) for r in rows])
    want = torch.tensor([clf.categories.index(r["label"]) for r in rows])
    return float((s.argmax(1) == want_style).float().mean()), float((c.argmax(1) == want).float().mean()), f


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "data", "models", "tessera-emoji-128"))
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "cache", "emoji128"))
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "app", "cli", "tessera-cli"))
    ap.add_argument("--classifier", default=os.path.join(ROOT, "data", "train-runs", "classifier.pt"),
                    help="trained once and reused (delete to retrain)")
    ap.add_argument("--blur-classifier", default=os.path.join(ROOT, "data", "train-runs", "classifier-blur.pt"),
                    help="the thumbnail-blur-trained classifier, trained once and reused")
    ap.add_argument("--classifier-steps", type=int, default=CLASSIFIER_STEPS)
    ap.add_argument("--per-style", type=int, default=40, help="in-distribution captions per style")
    ap.add_argument("--concepts", default=os.path.join(ROOT, "tools", "data", "concepts.json"),
                    help="the concept set (issue 17's evaluation); '' for the first-generation one")
    ap.add_argument("--concept-classifier", default="/var/tmp/tessera-train/classifier-concepts.pt",
                    help="the style x concept classifier, trained once on real concept-set images and reused")
    ap.add_argument("--concept-classifier-steps", type=int, default=CONCEPT_CLASSIFIER_STEPS)
    ap.add_argument("--out", required=True, help="eval.json to write")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vq-only", action="store_true", help="the VQ's measures only, no generation")
    ap.add_argument("--vq-checkpoint", help="a training run's vq.pt instead of the model folder's VQ")
    ap.add_argument("--vq-sheet", help="also write a PNG: held-out emoji, VQ reconstructions, 8x8 thumbnails")
    ap.add_argument("--guidance", help="instead of the product's default (for experiments; the bars use the default)")
    ap.add_argument("--steps", help="instead of the product's default")
    args = ap.parse_args()
    if not args.concepts:
        return legacy_main(args)
    return concept_main(args)


def concept_main(args):
    """Issue 17 §4: (a) in-distribution prompts of the concept set (single emoji, and scenes on
    backgrounds never rendered in training), (b) held-out concept x style pairs, (c) the VQ on
    held-out emoji and scenes; a style x concept classifier trained on real concept-set images."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    def log(msg):
        print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)

    concepts = load_concepts(args.concepts)
    cmaker = SceneMaker(args.data, "all", concepts=concepts)       # the classifier's training images
    train_maker = SceneMaker(args.data, "train", concepts=concepts)
    pair_maker = SceneMaker(args.data, "heldout-pairs", concepts=concepts)
    eval_maker = SceneMaker(args.data, "eval")                     # emoji the VQ never saw
    result = {"model": os.path.basename(os.path.normpath(args.model)), "concepts": len(concepts["concepts"])}
    if args.guidance or args.steps:
        result["sampling"] = f"guidance {args.guidance or 'default'}, steps {args.steps or 'default'}"
    told, total = distinct_positions(args.model)
    result["positions_told_apart_all_masked"] = f"{told} of {total}"

    # (c) the VQ on held-out emoji and scenes
    vq = load_vq_checkpoint(args.vq_checkpoint) if args.vq_checkpoint else load_vq(args.model)
    held = heldout_rows(eval_maker, 30, seed=1)
    held_real = [single_on_white(eval_maker, r) for r in held]
    held_rec = vq_reconstruct(vq, held_real)
    if args.vq_sheet:
        write_vq_sheet(args.vq_sheet, held, held_real, held_rec)
    scenes = [im for im, _, _ in fixed_samples(eval_maker, 256, seed=5)]
    result["vq_psnr_heldout_single_db"] = round(mean_psnr(held_rec, held_real), 2)
    result["vq_psnr_heldout_scenes_db"] = round(mean_psnr(vq_reconstruct(vq, scenes), scenes), 2)
    for side in (8, 16, 32):
        result[f"thumbnail_{side}px_psnr_heldout_single_db"] = round(mean_psnr(thumbnails(held_real, side), held_real), 2)
    log(f"VQ PSNR: held-out single {result['vq_psnr_heldout_single_db']} dB, "
        f"scenes {result['vq_psnr_heldout_scenes_db']} dB")

    clf = train_classifier(cmaker, args.concept_classifier, log, args.concept_classifier_steps, key="label")
    rows = concept_rows(train_maker, args.per_style, seed=1)
    real = [single_on_white(train_maker, r) for r in rows]
    real_rec = vq_reconstruct(vq, real)
    ceil_style, ceil_concept, f_real = concept_accuracies(clf, real, rows)
    rec_style, rec_concept, _ = concept_accuracies(clf, real_rec, rows)
    result.update({"style_accuracy_real_ceiling": round(ceil_style, 3),
                   "concept_accuracy_real_ceiling": round(ceil_concept, 3),
                   "style_accuracy_vq_reconstructions": round(rec_style, 3),
                   "concept_accuracy_vq_reconstructions": round(rec_concept, 3),
                   "vq_keeps_style_fraction": round(rec_style / max(ceil_style, 1e-9), 3),
                   "vq_keeps_concept_fraction": round(rec_concept / max(ceil_concept, 1e-9), 3)})
    # FID's floor for this VQ: reconstructions of other real images against the real ones, the
    # same pairing as the reference (real vs real) and the generated images
    ref_rows = concept_rows(train_maker, args.per_style, seed=2)
    ref_real = [single_on_white(train_maker, r) for r in ref_rows]
    _, _, f_ref = classify(clf, ref_real)
    _, _, f_ref_rec = classify(clf, vq_reconstruct(vq, ref_real))
    fid_ref = frechet(f_ref, f_real)
    result["fid_classifier_real_vs_real_reference"] = round(fid_ref, 3)
    result["fid_classifier_vq_reconstructions_vs_real"] = round(frechet(f_ref_rec, f_real), 3)
    bars = {"vq_psnr_db >= 24": result["vq_psnr_heldout_single_db"] >= 24,
            "vq keeps >= 0.9 of style and concept accuracy":
                rec_style >= 0.9 * ceil_style and rec_concept >= 0.9 * ceil_concept}
    if args.vq_only:
        result["bars"] = bars
        return write_result(result, args.out)

    extra = [a for k, v in (("--guidance", args.guidance), ("--steps", args.steps)) if v for a in (k, v)]
    # (a) in-distribution single-emoji prompts, as users type them
    prompts = [f"{r['label']}, {STYLE_PHRASES[r['style']]}" for r in rows]
    srows = concept_rows(train_maker, max(4, args.per_style // 5), seed=3)
    sprompts = scene_prompts(srows, seed=3)
    pairs = [r for r in pair_maker.items]
    pprompts = [f"{r['label']}, {STYLE_PHRASES[r['style']]}" for r in pairs]
    with tempfile.TemporaryDirectory() as tmp:
        gen, seconds_each = generate(args.cli, args.model, prompts + sprompts + pprompts, tmp, log, extra)
    gen_single, gen_scene, gen_pairs = gen[:len(rows)], gen[len(rows):len(rows) + len(srows)], gen[len(rows) + len(srows):]
    g_style, g_concept, f_gen = concept_accuracies(clf, gen_single, rows)
    sc_style, sc_concept, _ = concept_accuracies(clf, gen_scene, srows)
    p_style, p_concept, _ = concept_accuracies(clf, gen_pairs, pairs) if pairs else (0, 0, None)
    fid = frechet(f_gen, f_real)
    result.update({
        "generated_single": len(gen_single), "cli_seconds_per_image": round(seconds_each, 3),
        "style_accuracy_generated": round(g_style, 3), "concept_accuracy_generated": round(g_concept, 3),
        "style_fraction_of_ceiling": round(g_style / max(ceil_style, 1e-9), 3),
        "concept_fraction_of_ceiling": round(g_concept / max(ceil_concept, 1e-9), 3),
        "fid_classifier_generated_vs_real": round(fid, 3),
        "scene_prompts_unseen_backgrounds": len(gen_scene),
        "scene_style_accuracy_generated": round(sc_style, 3),
        "scene_concept_accuracy_generated": round(sc_concept, 3),
        "heldout_pairs": len(gen_pairs),
        "heldout_pairs_style_accuracy_generated": round(p_style, 3),
        "heldout_pairs_concept_accuracy_generated": round(p_concept, 3),
    })
    bars.update({"concept_accuracy >= 0.7 and >= 0.8 of ceiling": g_concept >= 0.7 and g_concept >= 0.8 * ceil_concept,
                 "style_accuracy >= 0.8 of ceiling": g_style >= 0.8 * ceil_style,
                 "fid <= 3x reference": fid <= 3 * fid_ref})
    result["bars"] = bars
    return write_result(result, args.out)



def write_result(result, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
