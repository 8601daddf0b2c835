"""Token transformer + text encoder, trained jointly from scratch on VQ tokens of the scenes.

MaskGIT/aMUSEd recipe: mask ratio cos(r * pi/2), r ~ U(0,1); cross-entropy on the masked
tokens; 10 % of captions replaced by the empty prompt (what the pipeline encodes as the
negative prompt for classifier-free guidance); micro-conditions as upstream.

With `freeze_text` the text encoder is kept as loaded (--init-from) and each caption is encoded
once (as aMUSEd keeps CLIP frozen): 20-28 % of a CPU step. With `canonical` that fraction of
every batch comes from the canonical bank (every training item once, centred on white: what a
plain '<concept>, <style>' prompt draws); with `placed` that fraction from the placed bank
(every item a few times at a named place on a background: the one-object scene prompt, and
what inpainting a small region asks); the rest from the random samples' bank. With `region`
that share of the samples is masked as the editing modes mask (a rectangle, or everything
but one: region_masks) instead of at random places (session 10: inpainting a plain picture's
corner with "cat face" drew a white square with an orange blob, the canonical layout)."""
import math
import os
import time

import torch
import torch.nn.functional as F

import amused_nets as nets
import init_from
import token_bank
from common import MICRO_CONDS, Batches, Meter, device, Schedule, resume, save_checkpoint

CAPTION_DROPOUT = 0.1
P_SINGLE = 0.6   # single emoji (what the evaluation's in-distribution prompts ask for) vs scenes


def region_masks(b, h, w, gen):
    """One rectangle a sample, 3 to 3/4 of the grid a side, anywhere; half of them turned
    inside out (everything but the rectangle). Inpainting masks a region whole and keeps
    everything outside it; outpainting and background swap mask everything outside one."""
    lo_h, lo_w = 3, 3
    hh = torch.randint(lo_h, max(lo_h + 1, 3 * h // 4 + 1), (b,), generator=gen)
    ww = torch.randint(lo_w, max(lo_w + 1, 3 * w // 4 + 1), (b,), generator=gen)
    y0 = (torch.rand(b, generator=gen) * (h - hh + 1)).long()
    x0 = (torch.rand(b, generator=gen) * (w - ww + 1)).long()
    ys, xs = torch.arange(h)[None, :, None], torch.arange(w)[None, None, :]
    inside = ((ys >= y0[:, None, None]) & (ys < (y0 + hh)[:, None, None]) &
              (xs >= x0[:, None, None]) & (xs < (x0 + ww)[:, None, None]))
    flip = torch.rand(b, generator=gen) < 0.5
    return torch.where(flip[:, None, None], ~inside, inside)


def mask_tokens(idx, mask_id, gen, region=0.0):
    """The MaskGIT mask (cosine ratio, random places); with `region` > 0 that share of the
    samples (drawn per sample) gets a region mask instead (region_masks)."""
    b, h, w = idx.shape
    n = h * w
    r = torch.rand(b, generator=gen)
    n_mask = torch.clamp((torch.cos(r * math.pi / 2) * n).ceil().long(), 1, n)
    order = torch.rand(b, n, generator=gen).argsort(dim=1).argsort(dim=1)
    mask = (order < n_mask[:, None]).view(b, h, w)
    if region > 0:
        # half whole (the first step of an edit), half a random part of the region (the
        # later steps, once the sampler has filled some of it)
        use = torch.rand(b, generator=gen) < region
        whole = torch.rand(b, generator=gen) < 0.5
        reg = region_masks(b, h, w, gen)
        reg = torch.where(whole[:, None, None], reg, reg & mask)
        mask = torch.where(use[:, None, None] & reg.flatten(1).any(1)[:, None, None], reg, mask)
    return torch.where(mask, torch.full_like(idx, mask_id), idx), mask


def train_tm(tcfg_text, tcfg_tm, tcfg, tokenizer, vq, run_dir, data_dir, seed=0, log=print, max_steps=None,
             max_seconds=None, concepts=None, init_dir=None):
    dev = device()
    torch.manual_seed(seed + 1)
    text = nets.ClipTextModel(tcfg_text).to(dev)
    tm = nets.UVit2D(tcfg_tm).to(dev)
    vq = vq.to(dev).eval()
    for p in vq.parameters():
        p.requires_grad_(False)
    freeze_text = tcfg.get("freeze_text", False)
    groups = [{"params": tm.parameters(), "lr": tcfg["lr"], "base": tcfg["lr"]}]
    if not freeze_text:
        groups.append({"params": text.parameters(), "lr": tcfg["text_lr"], "base": tcfg["text_lr"]})
    opt = torch.optim.AdamW(groups, betas=(0.9, 0.99), weight_decay=0.01)
    ck_path = os.path.join(run_dir, "tm.pt")
    ck, step, spent = resume(ck_path, log, "tm", text=text, transformer=tm, opt=opt)
    if ck is None and init_dir:
        init_from.load_matching(text, init_dir, "text", log)
        init_from.load_matching(tm, init_dir, "transformer", log)
    mask_id = tcfg_tm["vocab_size"] - 1
    bank = None
    if tcfg.get("tokens"):
        maker = Batches(data_dir, "train", seed + 7, concepts, P_SINGLE).maker
        t0 = time.time()
        bank = token_bank.build(os.path.join(run_dir, "tokens.pt"), vq, maker, tcfg["tokens"], seed + 7, log, dev)
        log(f"token bank: {len(bank[1])} samples ready ({time.time() - t0:.0f} s)")
        banks, fractions = [bank], [1.0]
        if tcfg.get("canonical"):
            canon = token_bank.build_canonical(os.path.join(run_dir, "tokens-canonical.pt"), vq, maker, log, dev)
            log(f"canonical bank: {len(canon[1])} items")
            banks, fractions = [canon, bank], [tcfg["canonical"], 1.0 - tcfg["canonical"]]
            if tcfg.get("placed"):
                placed = token_bank.build_placed(os.path.join(run_dir, "tokens-placed.pt"), vq, maker,
                                                 tcfg.get("placed_copies", 4), seed + 11, log, dev)
                log(f"placed bank: {len(placed[1])} samples")
                banks = [canon, placed, bank]
                fractions = [tcfg["canonical"], tcfg["placed"], 1.0 - tcfg["canonical"] - tcfg["placed"]]
    else:
        batches = Batches(data_dir, "train", seed + 7, concepts)
    total = tcfg["steps"]
    stop = total if max_steps is None else min(total, step + max_steps)
    sched = Schedule(total, max_seconds, spent)
    meter = Meter()
    micro = torch.tensor([MICRO_CONDS], device=dev)
    if freeze_text:
        text.eval()
        for q in text.parameters():
            q.requires_grad_(False)
    encoded = {}

    def encode(caps):
        """Text encoder outputs for a batch; with a frozen encoder, each caption is encoded once."""
        if not freeze_text:
            return text(torch.tensor([tokenizer.encode(c) for c in caps], device=dev))
        new = sorted({c for c in caps if c not in encoded})
        if new:
            with torch.no_grad():
                out = text(torch.tensor([tokenizer.encode(c) for c in new], device=dev))
            for k, c in enumerate(new):
                encoded[c] = (out["encoder_hidden_states"][k], out["text_embeds"][k])
        return {"encoder_hidden_states": torch.stack([encoded[c][0] for c in caps]),
                "text_embeds": torch.stack([encoded[c][1] for c in caps])}

    def save():
        save_checkpoint(ck_path, {"text": text.state_dict(), "transformer": tm.state_dict(),
                                  "opt": opt.state_dict(), "step": step, "seconds": sched.seconds()})

    while step < stop and not sched.done(step):
        if bank is not None:
            if len(banks) == 1:
                pick = token_bank.batch_indices(len(bank[1]), tcfg["batch"], seed, step)
                codes, caps = bank[0][pick], [bank[1][i] for i in pick]
            else:
                codes, caps = token_bank.mixed_batch(banks, fractions, tcfg["batch"], seed, step)
        else:
            x, caps, _ = batches.get(step, tcfg["batch"])
            with torch.no_grad():
                codes = vq.nearest(vq.encode(x.to(dev))).cpu()
        gen = torch.Generator().manual_seed(seed * 7919 + step)
        drop = torch.rand(len(caps), generator=gen) < CAPTION_DROPOUT
        caps = ["" if d else c for c, d in zip(caps, drop.tolist())]
        inp, mask = mask_tokens(codes, mask_id, gen, tcfg.get("region", 0.0))
        for g in opt.param_groups:
            g["lr"] = sched.lr(step, g["base"])
        out = encode(caps)
        logits = tm(inp.to(dev), out["encoder_hidden_states"], out["text_embeds"], micro.expand(len(caps), -1))
        m = mask.to(dev)
        loss = F.cross_entropy(logits.permute(0, 2, 3, 1)[m], codes.to(dev)[m], label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([q for g in opt.param_groups for q in g["params"]], 1.0)
        opt.step()
        with torch.no_grad():
            acc = (logits.permute(0, 2, 3, 1)[m].argmax(-1) == codes.to(dev)[m]).float().mean()
        meter.add(loss=loss.item(), masked_acc=acc.item())
        step += 1
        finished = step == stop or sched.done(step)
        if step % 20 == 0 or finished:
            log(f"tm step {step}/{total} ({100 * sched.progress(step):.1f} %, {sched.seconds():.0f} s) {meter.line()}")
        if step % 500 == 0 or finished:
            save()
    return text, tm
