"""Precomputed VQ token maps for the transformer stage (issue 17 §3): N training samples are
rendered and encoded once into tokens.pt in the run folder; every transformer batch draws from
them instead of encoding images each step. The bank records which VQ made it (a checksum of the
codebook and encoder) and is rebuilt when the VQ changes; it is filled in chunks and resumes."""
import os
import random

import numpy as np
import torch

from common import load_checkpoint, save_checkpoint

CHUNK = 64


def vq_signature(vq):
    """Changes whenever the encoder or codebook do (the decoder fine-tuning leaves it as is)."""
    total = 0.0
    for name, t in vq.state_dict().items():
        if name.startswith(("encoder.", "quant_conv.", "quantize.")):
            total += float(t.double().abs().sum()) + float(t.double().flatten()[:7].sum())
    return f"{total:.9e}"


def render(maker, seed, i):
    im, cap, _ = maker.sample(random.Random(f"tok:{seed}:{i}"))
    return np.asarray(im, dtype=np.uint8), cap


def build(path, vq, maker, n, seed, log, dev):
    """Fills (or continues) the bank at path with n samples; returns (tokens [n,h,w] long, captions)."""
    return fill(path, vq, lambda i: render(maker, seed, i), n, seed, log, dev)


def build_canonical(path, vq, maker, log, dev):
    """Every training item once in the plain prompt's layout (SceneMaker.canonical)."""
    def one(i):
        im, cap = maker.canonical(maker.items[i])
        return np.asarray(im, dtype=np.uint8), cap
    return fill(path, vq, one, len(maker.items), -1, log, dev)


def build_placed(path, vq, maker, copies, seed, log, dev):
    """Every training item `copies` times at a named place on a background (SceneMaker.placed)."""
    n_items = len(maker.items)

    def one(i):
        im, cap = maker.placed(maker.items[i % n_items], random.Random(f"placed:{seed}:{i}"))
        return np.asarray(im, dtype=np.uint8), cap
    return fill(path, vq, one, copies * n_items, seed, log, dev)


def fill(path, vq, make, n, seed, log, dev):
    sig = vq_signature(vq)
    bank = load_checkpoint(path)
    if bank is not None and (bank["signature"] != sig or bank["seed"] != seed):
        log(f"token bank {path}: made by another VQ or seed, rebuilding")
        bank = None
    if bank is None:
        bank = {"signature": sig, "seed": seed, "tokens": [], "captions": []}
    done = sum(len(t) for t in bank["tokens"])
    if done < n:
        log(f"token bank: encoding samples {done}..{n}")
    vq = vq.to(dev).eval()
    while done < n:
        k = min(CHUNK, n - done)
        imgs, caps = zip(*(make(done + j) for j in range(k)))
        x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float().div_(255.0).to(dev)
        with torch.no_grad():
            codes = vq.nearest(vq.encode(x)).to(torch.int16).cpu()
        bank["tokens"].append(codes)
        bank["captions"] += list(caps)
        done += k
        if done % (CHUNK * 32) == 0 or done == n:
            save_checkpoint(path, bank)
            log(f"token bank: {done}/{n}")
    tokens = torch.cat(bank["tokens"])[:n].long()
    return tokens, bank["captions"][:n]


def batch_indices(n, batch, seed, step):
    """Deterministic per step, so a resumed run sees the batches an uninterrupted one would."""
    return random.Random(f"{seed}:{step}").sample(range(n), min(batch, n))


def mixed_batch(banks, fractions, batch, seed, step):
    """(tokens, captions) of one batch drawn from several banks, round(fraction * batch) from
    each but the last, which fills the rest."""
    codes, caps = [], []
    left = batch
    for k, ((tokens, captions), frac) in enumerate(zip(banks, fractions)):
        take = left if k == len(banks) - 1 else min(left, round(frac * batch))
        left -= take
        pick = batch_indices(len(captions), take, f"{seed}:{k}", step)
        codes.append(tokens[pick])
        caps += [captions[i] for i in pick]
    return torch.cat(codes), caps
