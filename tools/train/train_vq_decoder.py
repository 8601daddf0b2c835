"""VQ decoder fine-tuning (as in the Muse paper, section 2.5): the encoder, quant_conv and
codebook stay frozen, so every image keeps its tokens and a transformer trained on them stays
valid; post_quant_conv and the decoder train further on whole 128x128 images with the
reconstruction losses (L1, L2, gradients), and with `adversarial` > 0 a PatchGAN critic's
hinge loss too, weighted against the reconstruction loss by their gradients at the last layer
(the VQGAN paper's adaptive weight, times `adversarial`). Session 11 measured why the critic:
the classifier keeps 0.71 of its style accuracy on this decoder's reconstructions and 0.72 when
the decoder gets the encoder's unquantised latents, so the codebook is not what loses style;
an L1/L2 decoder averages away the outline weight and shading that tell styles apart, and the
FID of its reconstructions against real images (9.1) is above the generated images' (8.4).

The VQ stage spends most of its steps on 64x64 crops (4x4 tokens) where a quarter of the
tokens sit on a crop border; here the decoder sees whole images, as the engine decodes them.

`joint` (session 13) trains the encoder, quant_conv and codebook too, with the same critic, on
whole images: decoding the *unquantised* latents kept no more style (0.716) than the tokens, so
not the codebook but the encoder (1,425 steps, most on crops) or the decoder drops it; this
asks whether more encoder training helps. The tokens then change: a transformer must be
trained (or fine-tuned) on the new VQ's tokens before it ships. `python3 train_vq_decoder.py`
runs the self-test (exit 0, or 77 without torch)."""
import os

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:   # the self-test's skip (exit 77), as average_decoder.py's
    if __name__ == "__main__":
        print(f"train_vq_decoder self-test skipped: torch not importable ({e})")
        raise SystemExit(77)
    raise

from common import Batches, Meter, Schedule, device, load_checkpoint, resume, save_checkpoint
from train_vq import PatchDisc, grad_loss, psnr, vq_forward

DECODER_PARTS = ("post_quant_conv", "decoder")
CRITIC_WARMUP = 100   # steps the critic trains before its loss reaches the decoder


def adaptive_weight(rec_loss, g_loss, last, scale):
    """How much the critic's term counts: the ratio of the two losses' gradient norms at the
    decoder's last layer, so neither swamps the other whatever their scales."""
    gr = torch.autograd.grad(rec_loss, last, retain_graph=True)[0].norm()
    gg = torch.autograd.grad(g_loss, last, retain_graph=True)[0].norm()
    return (gr / (gg + 1e-4)).clamp(0, 1e4).detach() * scale


def trained_parameters(model, joint=False):
    """The decoder side's parameters; with `joint`, every one."""
    return [p for name, p in model.named_parameters() if joint or name.split(".")[0] in DECODER_PARTS]


def finetune_vq_decoder(vq, tcfg, run_dir, data_dir, seed=0, log=print, max_steps=None, max_seconds=None,
                        batches=None):
    """vq: the trained VQ stage's model. Returns it with the fine-tuned decoder loaded.
    batches: anything with get(step, n) -> (images, ...) instead of data_dir's (the self-test)."""
    dev = device()
    model = vq.to(dev)
    for p in model.parameters():
        p.requires_grad_(False)
    joint = bool(tcfg.get("joint"))
    params = trained_parameters(model, joint)
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=tcfg["lr"], betas=(0.9, 0.99), weight_decay=0.0)
    adv = tcfg.get("adversarial", 0.0)
    critic = PatchDisc().to(dev) if adv > 0 else None   # the VQ stage's critic
    copt = torch.optim.AdamW(critic.parameters(), lr=tcfg["lr"], betas=(0.5, 0.9)) if critic else None
    ck_path = os.path.join(run_dir, "vqdec.pt")
    ck, step, spent = resume(ck_path, log, "vq decoder", model=model, opt=opt)
    critic_from = step
    if critic and ck and "critic" in ck:
        try:
            critic.load_state_dict(ck["critic"])
            copt.load_state_dict(ck["critic_opt"])
            critic_from = ck.get("critic_from", step)
        except (RuntimeError, ValueError, KeyError) as e:   # another critic's layout: a fresh one
            log(f"vq decoder: critic not resumed ({str(e).splitlines()[0]}): it starts again")
    total = tcfg["steps"]
    stop = total if max_steps is None else min(total, step + max_steps)
    sched = Schedule(total, max_seconds, spent, warmup=50)
    batches = batches or Batches(data_dir, "train", seed + 7)   # other samples than the VQ stage saw
    meter = Meter()

    def save():
        extra = {"critic": critic.state_dict(), "critic_opt": copt.state_dict(), "critic_from": critic_from} if critic else {}
        save_checkpoint(ck_path, {"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                                  "seconds": sched.seconds(), **extra})

    model.train()
    while step < stop and not sched.done(step):
        x, _, _ = batches.get(step, tcfg["batch"])
        x = x.to(dev)
        for g in opt.param_groups + (copt.param_groups if copt else []):
            g["lr"] = sched.lr(step, tcfg["lr"])
        stats = {}
        if joint:
            rec, _, cb, commit = vq_forward(model, x)
            quantiser_loss = cb + 0.25 * commit
            stats["commit"] = commit.item()
        else:
            with torch.no_grad():
                idx = model.nearest(model.encode(x))
            rec, quantiser_loss = model.decode_indices(idx), 0.0
        l2 = F.mse_loss(rec, x)
        loss = (rec - x).abs().mean() + l2 + grad_loss(rec, x)
        # the critic learns alone for its first steps: an untrained critic's gradient is noise
        if critic and step - critic_from >= CRITIC_WARMUP:
            g_loss = -critic(rec).mean()
            w = adaptive_weight(loss, g_loss, model.decoder.conv_out.weight, adv)
            loss = loss + w * g_loss
            stats.update(g=g_loss.item(), w=w.item())
        loss = loss + quantiser_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if critic:
            d_loss = F.relu(1 - critic(x)).mean() + F.relu(1 + critic(rec.detach())).mean()
            copt.zero_grad(set_to_none=True)
            d_loss.backward()
            copt.step()
            stats["d"] = d_loss.item()
        meter.add(loss=loss.item(), l2=l2.item(), psnr=psnr(rec.detach(), x).item(), **stats)
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


def self_test():
    """Three steps of each mode on a smoke-sized VQ and random images: without `joint` only
    post_quant_conv and the decoder move (every image keeps its tokens); with it the encoder
    and codebook move too. The critic's warm-up is skipped so that its term is exercised."""
    import sys
    import tempfile
    global CRITIC_WARMUP
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import amused_nets as nets
    from presets import PRESETS, vq_config

    class Random:
        def get(self, step, n):
            g = torch.Generator().manual_seed(step)
            return torch.rand(n, 3, 64, 64, generator=g) * 2 - 1, None, None

    CRITIC_WARMUP = 0
    torch.manual_seed(0)
    cfg = vq_config(PRESETS["smoke"])
    start = nets.VQModel(cfg).state_dict()
    for joint in (False, True):
        vq = nets.VQModel(cfg)
        vq.load_state_dict(start)
        tcfg = {"steps": 3, "batch": 2, "lr": 1e-3, "adversarial": 0.25, "joint": joint}
        with tempfile.TemporaryDirectory() as run:
            out = finetune_vq_decoder(vq, tcfg, run, None, log=lambda m: None, batches=Random())
            assert os.path.exists(os.path.join(run, "vqdec.pt")), "no checkpoint written"
        moved = {k.split(".")[0] for k, v in out.state_dict().items()
                 if torch.is_floating_point(v) and not torch.equal(v, start[k])}
        want = {"decoder", "post_quant_conv"} | ({"encoder", "quant_conv", "quantize"} if joint else set())
        assert moved == want, f"joint={joint}: moved {sorted(moved)}, want {sorted(want)}"
    print("train_vq_decoder self-test: ok")


if __name__ == "__main__":
    self_test()
