"""Shared training helpers: paths, device, batches from the scene maker, checkpoints."""
import math
import os
import random
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "data"))
from scenes import SceneMaker  # noqa: E402

MICRO_CONDS = [128.0, 128.0, 0.0, 0.0, 6.0]   # width, height, crop_top, crop_left, aesthetic (as upstream)


def device():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Batches:
    """Deterministic batches: sample j of step s always comes from Random(seed, s, j), so a
    resumed run sees exactly the data an uninterrupted one would."""

    def __init__(self, data_dir, split="train", seed=0, concepts=None, p_single=None):
        kw = {} if p_single is None else {"p_single": p_single}
        self.maker = SceneMaker(data_dir, split, concepts=concepts, **kw)
        self.seed = seed

    def get(self, step, batch):
        imgs, caps, metas = [], [], []
        for j in range(batch):
            rng = random.Random(f"{self.seed}:{step}:{j}")
            im, cap, rows = self.maker.sample(rng)
            imgs.append(np.asarray(im, dtype=np.uint8))
            caps.append(cap)
            metas.append(rows)
        x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float().div_(255.0)
        return x, caps, metas


class Schedule:
    """Training progress in [0, 1]: the larger of steps done / steps planned and, when the
    stage has a time budget, seconds spent / seconds allowed. The LR and the stage switches
    follow progress, so a run slowed down by a busy machine still ends its cosine schedule
    on time instead of being cut off at full learning rate. Seconds carry across resumes."""

    def __init__(self, total_steps, max_seconds=None, spent_seconds=0.0, warmup=200):
        self.total = total_steps
        self.max_seconds = max_seconds
        self.spent_before = spent_seconds
        self.warmup = warmup
        self.t0 = time.time()

    def seconds(self):
        return self.spent_before + time.time() - self.t0

    def progress(self, step):
        p = step / max(1, self.total)
        if self.max_seconds:
            p = max(p, self.seconds() / self.max_seconds)
        return min(1.0, p)

    def done(self, step):
        return self.progress(step) >= 1.0

    def lr(self, step, base):
        if step < self.warmup:
            return base * (step + 1) / self.warmup
        return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * self.progress(step))))


def save_checkpoint(path, state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path):
    if not os.path.exists(path):
        return None
    return torch.load(path, map_location="cpu")


def resume(path, log, stage, **parts):
    """Loads a stage's checkpoint into `parts` (checkpoint key -> module or optimizer).
    Returns (checkpoint or None, step, seconds spent)."""
    ck = load_checkpoint(path)
    if not ck:
        return None, 0, 0.0
    for key, part in parts.items():
        part.load_state_dict(ck[key])
    step, spent = ck["step"], ck.get("seconds", 0.0)
    log(f"{stage}: resumed at step {step} ({spent:.0f} s spent)")
    return ck, step, spent


class Meter:
    def __init__(self):
        self.t0 = time.time()
        self.sums = {}
        self.n = 0

    def add(self, **kw):
        for k, v in kw.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
        self.n += 1

    def line(self):
        dt = time.time() - self.t0
        s = " ".join(f"{k} {v / max(1, self.n):.4g}" for k, v in self.sums.items())
        rate = self.n / dt if dt > 0 else 0.0
        self.__init__()
        return f"{s} | {rate:.3f} it/s"
