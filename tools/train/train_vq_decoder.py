"""VQ decoder fine-tuning (as in the Muse paper, section 2.5): the encoder, quant_conv and
codebook stay frozen, so every image keeps its tokens and a transformer trained on them stays
valid; post_quant_conv and the decoder train further on whole 128x128 images with the
reconstruction losses only (no discriminator: PSNR is what the GAN term costs).

The VQ stage spends most of its steps on 64x64 crops (4x4 tokens) where a quarter of the
tokens sit on a crop border; here the decoder sees whole images, as the engine decodes them."""
import os

import torch
import torch.nn.functional as F

from common import Batches, Meter, Schedule, device, load_checkpoint, resume, save_checkpoint
from train_vq import grad_loss, psnr

DECODER_PARTS = ("post_quant_conv", "decoder")


def decoder_parameters(model):
    return [p for name, p in model.named_parameters() if name.split(".")[0] in DECODER_PARTS]


def finetune_vq_decoder(vq, tcfg, run_dir, data_dir, seed=0, log=print, max_steps=None, max_seconds=None):
    """vq: the trained VQ stage's model. Returns it with the fine-tuned decoder loaded."""
    dev = device()
    model = vq.to(dev)
    for p in model.parameters():
        p.requires_grad_(False)
    params = decoder_parameters(model)
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=tcfg["lr"], betas=(0.9, 0.99), weight_decay=0.0)
    ck_path = os.path.join(run_dir, "vqdec.pt")
    _, step, spent = resume(ck_path, log, "vq decoder", model=model, opt=opt)
    total = tcfg["steps"]
    stop = total if max_steps is None else min(total, step + max_steps)
    sched = Schedule(total, max_seconds, spent, warmup=50)
    batches = Batches(data_dir, "train", seed + 7)   # other samples than the VQ stage saw
    meter = Meter()

    def save():
        save_checkpoint(ck_path, {"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                                  "seconds": sched.seconds()})

    model.train()
    while step < stop and not sched.done(step):
        x, _, _ = batches.get(step, tcfg["batch"])
        x = x.to(dev)
        with torch.no_grad():
            idx = model.nearest(model.encode(x))
        for g in opt.param_groups:
            g["lr"] = sched.lr(step, tcfg["lr"])
        rec = model.decode_indices(idx)
        l2 = F.mse_loss(rec, x)
        loss = (rec - x).abs().mean() + l2 + grad_loss(rec, x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        meter.add(loss=loss.item(), l2=l2.item(), psnr=psnr(rec.detach(), x).item())
        step += 1
        finished = step == stop or sched.done(step)
        if step % 20 == 0 or finished:
            log(f"vq decoder step {step}/{total} ({100 * sched.progress(step):.1f} %, {sched.seconds():.0f} s) "
                f"{meter.line()}")
        if step % 250 == 0 or finished:
            save()
    return model.eval()


def load_finetuned_decoder(vq, run_dir):
    """Loads vqdec.pt over vq when the fine-tuning stage ran; returns whether it did."""
    ck = load_checkpoint(os.path.join(run_dir, "vqdec.pt"))
    if ck is None:
        return False
    vq.load_state_dict(ck["model"])
    return True
