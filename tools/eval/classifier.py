"""The evaluation classifier: a small CNN that predicts an emoji image's style and category.

Trained only on real images of the training split (single emoji at varied sizes, positions
and backgrounds, as the scene maker draws them), so held-out emoji are unseen by it too.
Its 192-d penultimate features serve the classifier FID.

With blur=True every training image is first shrunk to a random 12-64 px and scaled back up:
a classifier that cannot lean on fine detail, to tell how much of style and category a model
gets right at the detail its VQ keeps (the plain one is at chance on VQ reconstructions)."""
import math
import os
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

STEPS = 4000
BATCH = 64


def _block(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.GroupNorm(8, cout), nn.ReLU())


class EmojiClassifier(nn.Module):
    """pool 2: the first classifier (64x64 input, 5 blocks); pool 4: the concept classifier
    (32x32 input, 4 blocks: a quarter of the compute, so that it trains on this 2-core CPU)."""

    def __init__(self, styles, categories, pool=2):
        super().__init__()
        self.styles, self.categories, self.pool = list(styles), list(categories), pool
        if pool == 2:
            self.body = nn.Sequential(_block(3, 32, 1), _block(32, 48, 2), _block(48, 96, 2), _block(96, 144, 2),
                                      _block(144, 192, 2))
        else:
            self.body = nn.Sequential(_block(3, 48, 1), _block(48, 96, 2), _block(96, 144, 2), _block(144, 192, 2))
        self.style_head = nn.Linear(192, len(self.styles))
        self.category_head = nn.Linear(192, len(self.categories))

    def forward(self, x):
        """x: [B,3,128,128] in [0,1] -> (style logits, category logits, features)."""
        x = F.avg_pool2d(x * 2 - 1, self.pool)
        f = self.body(x).mean(dim=(2, 3))
        return self.style_head(f), self.category_head(f), f


BLUR_SIDES = (12, 16, 24, 32, 48, 64)


def blur_like_a_thumbnail(x, rng):
    """Each image of x [B,3,H,W] through a thumbnail of a random side, area-down, bicubic-up."""
    out = []
    for img in x:
        side = rng.choice(BLUR_SIDES)
        small = F.interpolate(img[None], size=(side, side), mode="area")
        out.append(F.interpolate(small, size=img.shape[1:], mode="bicubic", align_corners=False).clamp(0, 1))
    return torch.cat(out)


def _batch(maker, rng):
    rows, images = [], []
    for _ in range(BATCH):
        r = rng.choice(maker.items)
        im, _, _ = maker.single(rng, r)
        images.append(np.asarray(im, dtype=np.uint8))
        rows.append(r)
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255
    return x, rows


def train_classifier(maker, path, log=print, steps=STEPS, blur=False, key="category"):
    """key: the second head's label, "category" (emojibase group) or "label" (the concept,
    with the concept set of tools/data/concepts.json: issue 17's classifier)."""
    styles = sorted({r["style"] for r in maker.items})
    categories = sorted({r[key] for r in maker.items})
    if os.path.exists(path):
        state = torch.load(path, map_location="cpu")
        if state["styles"] == styles and state["categories"] == categories and state.get("steps") == steps \
                and state.get("blur", False) == blur and state.get("key", "category") == key:
            clf = EmojiClassifier(styles, categories, 4 if key == "label" else 2)
            clf.load_state_dict(state["model"])
            log(f"classifier: loaded {path}")
            return clf.eval()
    torch.manual_seed(0)
    rng = random.Random(0)
    clf = EmojiClassifier(styles, categories, 4 if key == "label" else 2)
    opt = torch.optim.AdamW(clf.parameters(), lr=2e-3, weight_decay=1e-4)
    start = 0
    if os.path.exists(path + ".partial"):
        part = torch.load(path + ".partial", map_location="cpu")
        clf.load_state_dict(part["model"])
        opt.load_state_dict(part["opt"])
        start = part["step"]
        rng = random.Random(f"resume:{start}")
        log(f"classifier: resumed at step {start}")
    for step in range(start, steps):
        for g in opt.param_groups:
            g["lr"] = 2e-3 * 0.5 * (1 + math.cos(math.pi * step / steps))
        x, rows = _batch(maker, rng)
        if blur:
            x = blur_like_a_thumbnail(x, rng)
        s, c, _ = clf(x)
        loss = F.cross_entropy(s, torch.tensor([styles.index(r["style"]) for r in rows])) + \
            F.cross_entropy(c, torch.tensor([categories.index(r[key]) for r in rows]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 100 == 99:
            log(f"classifier step {step + 1}/{steps}: loss {loss.item():.3f}")
        if step % 500 == 499:   # resumable: a long training on a busy core may be stopped
            torch.save({"model": clf.state_dict(), "opt": opt.state_dict(), "step": step + 1}, path + ".partial")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save({"model": clf.state_dict(), "styles": styles, "categories": categories, "steps": steps,
                "blur": blur, "key": key}, path)
    if os.path.exists(path + ".partial"):
        os.remove(path + ".partial")
    return clf.eval()
