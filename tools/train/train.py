#!/usr/bin/python3
"""Train Tessera's bundled model: BPE vocabulary -> VQ-GAN -> VQ decoder fine-tuning -> text
encoder + token transformer -> export in the diffusers layout. Every stage resumes from its checkpoint in --run.

  /usr/bin/python3 tools/train/train.py --preset full --run data/train-runs/full \\
      --export data/models/tessera-emoji-128
Use --stage to run one stage, --max-steps to stop a stage early (checkpointed; run again to
continue). Uses CUDA when torch sees a GPU.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import blas_core  # noqa: E402,F401  (before torch loads OpenBLAS)
import allocator  # noqa: E402

STAGES = ("bpe", "vq", "vqdec", "tm", "export")
# jemalloc (freed pages kept) makes the VQ stages 1.65x faster; the transformer stage on it
# grew past the machine's 24 GB within 150 steps (its masked-token tensors change size every
# step), so it stays on glibc's malloc. The allocator is chosen per process, hence one
# process per stage.
JEMALLOC_STAGES = ("vq", "vqdec")


def stage_arguments(argv):
    """--stage, --export and --side-by-side as main()'s parser reads them, and the other arguments."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--stage", default="all")
    pre.add_argument("--export")
    pre.add_argument("--side-by-side", action="store_true")
    return pre.parse_known_args(argv)


def stage_command(stage, rest, export):
    return [sys.executable, os.path.abspath(__file__), *rest, *export, "--stage", stage]


def run_side_by_side(stages, rest, export):
    """The decoder fine-tuning and the transformer stage share only the frozen encoder, so on a
    CPU they can run at once, each on its own half of the cores with that many threads: torch's
    threads scale poorly on two cores, two one-thread stages use both fully."""
    cores = sorted(os.sched_getaffinity(0))
    halves = [cores[:max(1, len(cores) // 2)], cores[len(cores) // 2:]]   # one core: both get it
    procs = []
    for stage, half in zip(stages, halves):
        threads = ["--threads", str(len(half))]   # after the user's: argparse keeps the last
        procs.append(subprocess.Popen(stage_command(stage, [*rest, *threads], export),
                                      preexec_fn=lambda half=half: os.sched_setaffinity(0, half)))
    rcs = [p.wait() for p in procs]
    return next((rc for rc in rcs if rc), 0)


def run_stages_in_turn(known, rest):
    """--stage all: every stage in its own process; they hand over through the run folder.
    With --side-by-side the decoder fine-tuning and the transformer run at once."""
    stages = STAGES if known.export else STAGES[:-1]
    export = ["--export", known.export] if known.export else []
    for stage in stages:
        if stage == "tm" and known.side_by_side:
            continue
        if stage == "vqdec" and known.side_by_side:
            rc = run_side_by_side(("vqdec", "tm"), rest, export)
        else:
            rc = subprocess.call(stage_command(stage, rest, export))
        if rc:
            return rc
    return 0


if __name__ == "__main__":
    known, rest = stage_arguments(sys.argv[1:])
    if "-h" not in rest and "--help" not in rest:
        if known.stage == "all":
            sys.exit(run_stages_in_turn(known, rest))
        if known.stage in JEMALLOC_STAGES:
            allocator.use_jemalloc()

import torch  # noqa: E402

import amused_nets as nets  # noqa: E402
import bpe  # noqa: E402
import export_model  # noqa: E402
import init_from  # noqa: E402
from common import ROOT, load_checkpoint  # noqa: E402
from presets import PRESETS, text_config, transformer_config, vq_config  # noqa: E402
from scenes import SceneMaker, load_concepts  # noqa: E402
from train_tm import train_tm  # noqa: E402
from train_vq import train_vq  # noqa: E402
from train_vq_decoder import finetune_vq_decoder, load_finetuned_decoder  # noqa: E402


def stage_bpe(p, run, data, log, init_dir=None):
    out = os.path.join(run, "tokenizer")
    if os.path.exists(os.path.join(out, "vocab.json")):
        return bpe.Tokenizer.load(out)
    if init_dir and init_from.copy_tokenizer(init_dir, out, p["vocab_size"], log):
        return bpe.Tokenizer.load(out)
    maker = SceneMaker(data, "all")
    texts = [r["label"] for r in maker.items]
    texts += [f"{r['label']}, {s}" for r in maker.items[:1] for s in
              ("noto style", "blob style", "twemoji style", "3d style", "flat style", "black and white icon",
               "emojione style")]
    rng = random.Random(1234)
    train_maker = SceneMaker(data, "train")
    texts += [train_maker.sample(rng)[1] for _ in range(3000)]
    merges = bpe.train(texts, p["vocab_size"])
    tok = bpe.Tokenizer.build(merges)
    tok.save(out, merges)
    lengths = [sum(1 for t in tok.encode(c) if t != tok.pad) + 1 for c in texts[-3000:]]
    log(f"bpe: {len(tok.vocab)} tokens, {len(merges)} merges; scene captions take up to {max(lengths)} of 77 "
        f"positions (mean {sum(lengths) / len(lengths):.1f})")
    return tok


def write_data_sources(folder, name, manifest):
    """data_sources.json: the training data's packages and licences, for the editor's about
    dialog (diffusers ignores files it does not know)."""
    keep = ("name", "version", "role", "licence", "attribution")
    sources = [{k: q[k] for k in keep if k in q} for q in manifest["packages"]]
    with open(os.path.join(folder, "data_sources.json"), "w") as f:
        json.dump({"model": name, "sources": sources,
                   "notice": "Emoji artwork was rasterised, resized to 128x128 and composited into "
                             "scenes to train this model; the model contains no copy of the images."},
                  f, indent=1)
        f.write("\n")


def eval_table(ev):
    """tools/eval/evaluate.py's eval.json as a Markdown table for the model card."""
    lines = ["Measured by `tools/eval/evaluate.py`.", "",
             "| measure | value |", "|---|---|"]
    for key, value in ev.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in value.items())
        lines.append(f"| {key.replace('_', ' ')} | {value} |")
    return "\n".join(lines)


def averaged_note(ck):
    """How a checkpoint made by tools/train/average_decoder.py came to be, for the model card."""
    steps = ck.get("averaged_from")
    return f"; the mean of the weights at steps {', '.join(f'{k:,}' for k in steps)}" if steps else ""


def n_params(m):
    return sum(t.numel() for t in m.state_dict().values())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="full", choices=sorted(PRESETS))
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "cache", "emoji128"))
    ap.add_argument("--run", required=True, help="run folder: checkpoints, tokenizer, log")
    ap.add_argument("--export", help="model folder to write (diffusers layout)")
    ap.add_argument("--name", default="tessera-emoji-128")
    ap.add_argument("--stage", default="all", choices=["all", "bpe", "vq", "vqdec", "tm", "export"])
    ap.add_argument("--side-by-side", action="store_true",
                    help="with the whole run: decoder fine-tuning and transformer at once, each on half the cores")
    ap.add_argument("--max-steps", type=int, default=None, help="stop each stage after this many more steps")
    ap.add_argument("--vq-steps", type=int, default=None, help="override the preset's VQ steps (LR schedule follows)")
    ap.add_argument("--tm-steps", type=int, default=None, help="override the preset's transformer steps")
    ap.add_argument("--vq-minutes", type=float, default=None, help="stop the VQ stage after this long")
    ap.add_argument("--tm-minutes", type=float, default=None, help="stop the transformer stage after this long")
    ap.add_argument("--tm-tokens", type=int, default=None, help="override the preset's token bank size (samples)")
    ap.add_argument("--tm-region", type=float, default=None,
                    help="share of the transformer's samples masked as a region (a rectangle or its outside) instead of at random")
    ap.add_argument("--tm-placed", type=float, default=None,
                    help="override the preset's share of each batch from the placed bank (taken from the scene bank's share)")
    ap.add_argument("--vqdec-steps", type=int, default=None, help="override the preset's decoder fine-tuning steps")
    ap.add_argument("--vqdec-minutes", type=float, default=None, help="stop the decoder fine-tuning after this long")
    ap.add_argument("--vqdec-adversarial", type=float, default=None,
                    help="the decoder fine-tuning's PatchGAN critic weight (0: reconstruction losses only)")
    ap.add_argument("--vqdec-joint", action="store_true",
                    help="the decoder stage trains the encoder and codebook too (new tokens: retrain the transformer)")
    ap.add_argument("--vqdec-lr", type=float, default=None, help="override the decoder stage's peak LR")
    ap.add_argument("--codebook", type=int, default=None, help="override the preset's VQ codebook size")
    ap.add_argument("--vq-latent", type=int, default=None,
                    help="override the preset's VQ latent channels (= the codebook's dimension; new tokens)")
    ap.add_argument("--default-guidance", type=float, default=None,
                    help="the exported model's default guidance (tessera-defaults.json), instead of the preset's")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init-from", default=None,
                    help="model folder whose matching weights (and tokenizer) start stages that have no checkpoint")
    ap.add_argument("--concepts", default=os.path.join(ROOT, "tools", "data", "concepts.json"),
                    help="the concept set (presets with concepts: true train the transformer on it)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    p = json.loads(json.dumps(PRESETS[args.preset]))
    if args.vq_steps is not None:   # 0 with --init-from: take the model's VQ over unchanged
        p["vq_train"]["steps"] = args.vq_steps
        p["vq_train"]["crop_full_after"] = min(p["vq_train"]["crop_full_after"], int(args.vq_steps * 0.85))
        p["vq_train"]["disc_start"] = min(p["vq_train"]["disc_start"], int(args.vq_steps * 0.75))
    if args.codebook:
        p["vq"]["num_vq_embeddings"] = args.codebook
    if args.vq_latent:
        p["vq"]["latent_channels"] = args.vq_latent
    if args.tm_steps:
        p["tm_train"]["steps"] = args.tm_steps
    if args.tm_tokens:
        p["tm_train"]["tokens"] = args.tm_tokens
    if args.tm_region is not None:
        if not 0 <= args.tm_region <= 1:
            ap.error("--tm-region: a share in [0, 1]")
        p["tm_train"]["region"] = args.tm_region
    if args.tm_placed is not None:
        if not 0 <= args.tm_placed <= 1 - p["tm_train"].get("canonical", 0):
            ap.error("--tm-placed: a share in [0, 1 - canonical share]")
        p["tm_train"]["placed"] = args.tm_placed
    if args.vqdec_adversarial is not None:
        if args.vqdec_adversarial < 0:
            ap.error("--vqdec-adversarial: a weight >= 0")
        p["vqdec_train"]["adversarial"] = args.vqdec_adversarial
    if args.vqdec_joint:
        p["vqdec_train"]["joint"] = True
    if args.vqdec_lr is not None:
        p["vqdec_train"]["lr"] = args.vqdec_lr
    if args.vqdec_steps is not None:   # 0 skips the decoder fine-tuning
        p["vqdec_train"]["steps"] = args.vqdec_steps
    os.makedirs(args.run, exist_ok=True)
    logf = open(os.path.join(args.run, "train.log"), "a")

    def log(msg):
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    log(f"start: preset {args.preset}, stage {args.stage}, device "
        f"{'cuda' if torch.cuda.is_available() else 'cpu'}, threads {torch.get_num_threads()}")
    tok = stage_bpe(p, args.run, args.data, log, args.init_from)
    concepts = load_concepts(args.concepts) if p.get("concepts") else None
    if args.stage == "bpe":
        return 0
    vq_cfg = vq_config(p)
    text_cfg = text_config(p, len(tok.vocab))
    tm_cfg = transformer_config(p)
    t0 = time.time()
    vq = nets.VQModel(vq_cfg)
    if args.stage == "vq":
        vq = train_vq(vq_cfg, p["vq_train"], args.run, args.data, args.seed, log, args.max_steps,
                      args.vq_minutes * 60 if args.vq_minutes else None, args.init_from).cpu()
        log(f"vq stage: {time.time() - t0:.0f} s")
    else:
        ck = load_checkpoint(os.path.join(args.run, "vq.pt"))
        if ck is None:
            raise SystemExit("no VQ checkpoint in the run folder: run --stage vq first")
        vq.load_state_dict(ck["model"])
    # The decoder fine-tuning leaves the encoder and codebook as they are, so it may run before
    # or after the transformer stage (which only encodes images).
    if args.stage == "vqdec":
        t1 = time.time()
        vq = finetune_vq_decoder(vq, p["vqdec_train"], args.run, args.data, args.seed, log, args.max_steps,
                                 args.vqdec_minutes * 60 if args.vqdec_minutes else None).cpu()
        log(f"vq decoder stage: {time.time() - t1:.0f} s")
    elif load_finetuned_decoder(vq, args.run):
        log("vq decoder: fine-tuned decoder loaded")
    text, tm = nets.ClipTextModel(text_cfg), nets.UVit2D(tm_cfg)
    if args.stage == "tm":
        t1 = time.time()
        text, tm = train_tm(text_cfg, tm_cfg, p["tm_train"], tok, vq, args.run, args.data, args.seed, log,
                            args.max_steps, args.tm_minutes * 60 if args.tm_minutes else None, concepts,
                            args.init_from)
        text, tm = text.cpu(), tm.cpu()
        log(f"tm stage: {time.time() - t1:.0f} s")
    elif args.stage == "export":
        ck = load_checkpoint(os.path.join(args.run, "tm.pt"))
        if ck is None:
            raise SystemExit("no transformer checkpoint in the run folder: run --stage tm first")
        text.load_state_dict(ck["text"])
        tm.load_state_dict(ck["transformer"])
    if args.export and args.stage == "export":
        vq_ck = load_checkpoint(os.path.join(args.run, "vq.pt")) or {}
        dec_ck = load_checkpoint(os.path.join(args.run, "vqdec.pt")) or {}
        tm_ck = load_checkpoint(os.path.join(args.run, "tm.pt")) or {}
        manifest = json.load(open(os.path.join(args.data, "manifest.json")))
        sources = "\n".join(f"* `{q['name']}@{q['version']}` ({q['licence']}): {q.get('attribution', q['role'])}"
                            for q in manifest["packages"])
        metrics_path = os.path.join(args.run, "eval.json")
        ev = json.load(open(metrics_path)) if os.path.exists(metrics_path) else None
        budget = "".join(f" --{k.replace('_', '-')} {v:g}" for k, v in
                         (("codebook", args.codebook), ("vq_latent", args.vq_latent), ("vq_minutes", args.vq_minutes), ("vqdec_minutes", args.vqdec_minutes),
                          ("tm_minutes", args.tm_minutes), ("tm_placed", args.tm_placed), ("tm_region", args.tm_region),
                          ("vq_steps", args.vq_steps),
                          ("vqdec_steps", args.vqdec_steps), ("tm_steps", args.tm_steps)) if v is not None)
        if args.init_from:
            budget = f" --init-from {args.init_from}" + budget
        cmd = (f"/usr/bin/python3 tools/data/fetch.py && /usr/bin/python3 tools/data/build_dataset.py && "
               f"/usr/bin/python3 tools/train/train.py --preset {args.preset} --run {args.run} "
               f"--export {args.export} --name {args.name}{' --side-by-side' if args.side_by_side else ''}{budget}")
        fields = {
            "codebook": vq_cfg["num_vq_embeddings"], "vocab": len(tok.vocab),
            "n_concepts": len(concepts["concepts"]) if concepts else "all",
            "history": open(os.path.join(HERE, "history.md")).read().strip(),
            "params_text": f"{n_params(text) / 1e6:.2f} M", "params_tm": f"{n_params(tm) / 1e6:.2f} M",
            "params_vq": f"{n_params(vq) / 1e6:.2f} M", "size_mb": "@size_mb@", "command": cmd,
            "train_summary": f"Preset `{args.preset}`: VQ {vq_ck.get('step', 0)} steps "
                             f"(batch {p['vq_train']['batch']}, {vq_ck.get('seconds', 0) / 60:.0f} min), "
                             f"VQ decoder fine-tuning {dec_ck.get('step', 0)} steps "
                             f"(batch {p['vqdec_train']['batch']}, {dec_ck.get('seconds', 0) / 60:.0f} min"
                             f"{averaged_note(dec_ck)}), "
                             f"transformer + text encoder {tm_ck.get('step', 0)} steps "
                             f"(batch {p['tm_train']['batch']}, {tm_ck.get('seconds', 0) / 60:.0f} min"
                             f"{averaged_note(tm_ck)}), "
                             f"on {'a GPU' if torch.cuda.is_available() else 'the CPU'}. "
                             f"Dataset: {manifest['images']} emoji images in 7 styles "
                             f"({manifest['distinct_base_emoji']} base emoji, "
                             f"{manifest['eval_base_emoji']} held out).",
            "eval_summary": eval_table(ev) if ev else "Not evaluated yet (tools/eval/).",
            "sources": sources,
        }
        size = export_model.export(args.export, args.name, text, tm, vq, os.path.join(args.run, "tokenizer"), fields)
        write_data_sources(args.export, args.name, manifest)
        sys.path.insert(0, os.path.join(ROOT, "tools", "data"))
        import vocabulary
        voc = vocabulary.vocabulary(args.data, args.concepts if concepts else None)
        with open(os.path.join(args.export, "vocabulary.json"), "w") as f:
            json.dump(voc, f, indent=1, ensure_ascii=False)
            f.write("\n")
        # The model's own sampling defaults (compute/model/ts-model-defaults.h), measured
        # with tools/eval/evaluate.py --guidance; diffusers ignores the file.
        if args.default_guidance is not None or p.get("sampling"):
            guidance = args.default_guidance if args.default_guidance is not None else p["sampling"]["guidance"]
            with open(os.path.join(args.export, "tessera-defaults.json"), "w") as f:
                json.dump({"guidance": guidance}, f)
                f.write("\n")
        readme = os.path.join(args.export, "README.md")
        text_card = open(readme).read().replace("@size_mb@", f"{size / 1e6:.1f}")
        with open(readme, "w") as f:
            f.write(text_card)
        log(f"exported {args.export}: {size / 1e6:.1f} MB (text {n_params(text)}, transformer {n_params(tm)}, "
            f"vq {n_params(vq)} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
