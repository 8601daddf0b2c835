"""VQ-GAN training: L1 + L2 + gradient reconstruction losses, codebook + commitment losses
(straight-through estimator), codebook usage monitoring with dead-code restarts, and a small
PatchGAN hinge discriminator after `disc_start` steps."""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

import amused_nets as nets
from common import Batches, Meter, device, Schedule, resume, save_checkpoint


class PatchDisc(nn.Module):
    def __init__(self, ch=32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, ch, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(ch, ch * 2, 4, 2, 1), nn.GroupNorm(8, ch * 2), nn.LeakyReLU(0.2),
            nn.Conv2d(ch * 2, ch * 4, 4, 2, 1), nn.GroupNorm(8, ch * 4), nn.LeakyReLU(0.2),
            nn.Conv2d(ch * 4, 1, 3, 1, 1))

    def forward(self, x):
        return self.net(x * 2 - 1)


def grad_loss(a, b):
    dx = lambda t: t[..., :, 1:] - t[..., :, :-1]  # noqa: E731
    dy = lambda t: t[..., 1:, :] - t[..., :-1, :]  # noqa: E731
    return (dx(a) - dx(b)).abs().mean() + (dy(a) - dy(b)).abs().mean()


def patch_colour_error(a, b, patch=16):
    """L1 between the mean colours of token-sized patches, logged as `colour`: the shipped VQ
    keeps shapes but turns red and green into orange and brown. (Adding 5x this to the loss
    did not help: README.md, "What limits the model".)"""
    return (F.avg_pool2d(a, patch) - F.avg_pool2d(b, patch)).abs().mean()


def psnr(a, b):
    mse = F.mse_loss(a.clamp(0, 1), b, reduction="none").mean(dim=(1, 2, 3))
    return (10 * torch.log10(1.0 / mse.clamp_min(1e-10))).mean()


def vq_forward(model, x):
    z = model.encode(x)
    idx = model.nearest(z.detach())
    q = model.lookup(idx)
    cb_loss = F.mse_loss(q, z.detach())
    commit = F.mse_loss(z, q.detach())
    rec = model.decode_latent(z + (q - z).detach())
    return rec, idx, cb_loss, commit


def restart_dead_codes(model, usage, z, threshold):
    """Codes whose running usage fell below threshold get a random recent encoder output."""
    dead = (usage < threshold).nonzero().flatten()
    if dead.numel() == 0:
        return 0
    flat = z.detach().permute(0, 2, 3, 1).reshape(-1, z.shape[1])
    pick = flat[torch.randint(0, flat.shape[0], (dead.numel(),), device=flat.device)]
    with torch.no_grad():
        model.quantize.embedding.weight[dead] = pick + 0.01 * pick.std() * torch.randn_like(pick)
    usage[dead] = 1.0 / usage.numel()
    return int(dead.numel())


def train_vq(cfg, tcfg, run_dir, data_dir, seed=0, log=print, max_steps=None, max_seconds=None, init_dir=None):
    """init_dir: a model folder whose matching VQ tensors start a stage without checkpoint; when
    all of them match, the codebook is kept (no re-seeding from encoder outputs), and with 0
    steps the stage just takes that VQ over (a transformer continued from the same model
    then sees the tokens it was trained on)."""
    dev = device()
    torch.manual_seed(seed)
    model = nets.VQModel(cfg).to(dev)
    disc = PatchDisc().to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=tcfg["lr"], betas=(0.5, 0.9), weight_decay=0.0)
    dopt = torch.optim.AdamW(disc.parameters(), lr=tcfg["lr"], betas=(0.5, 0.9), weight_decay=0.0)
    K = cfg["num_vq_embeddings"]
    usage = torch.full((K,), 1.0 / K, device=dev)
    ck_path = os.path.join(run_dir, "vq.pt")
    ck, step, spent = resume(ck_path, log, "vq", model=model, disc=disc, opt=opt, dopt=dopt)
    if ck:
        usage = ck["usage"].to(dev)
    seeded = False
    if ck is None and init_dir:
        import init_from
        seeded = init_from.load_matching(model, init_dir, "vq", log) == len(model.state_dict())
    batches = Batches(data_dir, "train", seed)
    total = tcfg["steps"]
    stop = total if max_steps is None else min(total, step + max_steps)
    sched = Schedule(total, max_seconds, spent)
    full_from = tcfg.get("crop_full_after", 0) / max(1, total)
    disc_from = tcfg["disc_start"] / max(1, total)
    meter = Meter()

    def save():
        save_checkpoint(ck_path, {"model": model.state_dict(), "disc": disc.state_dict(), "opt": opt.state_dict(),
                                  "dopt": dopt.state_dict(), "usage": usage.cpu(), "step": step, "config": cfg,
                                  "seconds": sched.seconds()})

    while step < stop and not sched.done(step):
        progress = sched.progress(step)
        x, _, _ = batches.get(step, tcfg["batch"])
        crop = 128 if progress >= full_from else tcfg.get("crop", 128)
        if crop < 128:
            g = torch.Generator().manual_seed(step)
            oy, ox = (int(v) for v in torch.randint(0, 128 - crop + 1, (2,), generator=g))
            x = x[:, :, oy:oy + crop, ox:ox + crop]
        x = x.to(dev)
        if step == 0 and not seeded:
            with torch.no_grad():  # start the codebook on real encoder outputs
                z = model.encode(x)
                flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
                model.quantize.embedding.weight.copy_(flat[torch.randint(0, flat.shape[0], (K,))])
        for g in opt.param_groups + dopt.param_groups:
            g["lr"] = sched.lr(step, tcfg["lr"])
        rec, idx, cb, commit = vq_forward(model, x)
        l1 = (rec - x).abs().mean()
        l2 = F.mse_loss(rec, x)
        loss = l1 + l2 + grad_loss(rec, x) + cb + 0.25 * commit
        use_gan = progress >= disc_from
        if use_gan:
            loss = loss - tcfg["disc_weight"] * disc(rec).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dloss = torch.zeros(())
        if use_gan:
            dloss = F.relu(1 - disc(x)).mean() + F.relu(1 + disc(rec.detach())).mean()
            dopt.zero_grad(set_to_none=True)
            dloss.backward()
            dopt.step()
        counts = torch.bincount(idx.flatten(), minlength=K).float()
        p = counts / counts.sum()
        usage.mul_(0.99).add_(0.01 * p)
        restarted = 0
        if step % 50 == 49:
            with torch.no_grad():
                restarted = restart_dead_codes(model, usage, model.encode(x), 0.03 / K)
        perplexity = torch.exp(-(p[p > 0] * p[p > 0].log()).sum())
        meter.add(loss=loss.item(), l1=l1.item(), colour=patch_colour_error(rec.detach(), x).item(),
                  psnr=psnr(rec.detach(), x).item(), commit=commit.item(),
                  perplexity=perplexity.item(), used=(usage > 0.03 / K).float().mean().item(),
                  restarted=restarted, dloss=dloss.item())
        step += 1
        finished = step == stop or sched.done(step)
        if step % 20 == 0 or finished:
            log(f"vq step {step}/{total} ({100 * sched.progress(step):.1f} %, {sched.seconds():.0f} s) {meter.line()}")
        if step % 500 == 0 or finished:
            save()
    if step == 0 and stop == 0:
        save()
    return model
