"""peer_amused.py — the peer side of tools/bench/peer/peer-bench.sh: the real diffusers
AmusedPipeline (diffusers v0.27.2, transformers at the v4.38 branch point, huggingface_hub
0.20.3, Debian's python3-torch) on random weights at the published configs.

  peer_amused.py sgemm                       torch's float32 GEMM rate, GFLOP/s (JSON)
  peer_amused.py save --size 256|512 DIR     random weights at the published config, saved as
                                             a diffusers folder (Tessera loads the same one)
  peer_amused.py run --model DIR [...]       one text-to-image run, timed (JSON)

The sources are found through PYTHONPATH, which peer-bench.sh sets from TESSERA_PEER_SRC.
Nothing here is timed but the pipeline call itself (weights are loaded before)."""
import argparse
import json
import os
import sys
import time


def set_threads(torch, n):
    """torch's intra-op threads: its own default when n is 0 (on the 2-core CI machine
    Debian's torch 1.13 starts with one: its element-wise and attention code then runs on
    one core while OpenBLAS's GEMMs use both)."""
    if n > 0:
        torch.set_num_threads(n)


def sgemm(args):
    import torch
    set_threads(torch, args.threads)
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(args.reps):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"peer": "sgemm", "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "gflops": 2 * n ** 3 / best / 1e9}))


def published_transformer(size):
    return dict(hidden_size=1024, use_bias=False, hidden_dropout=0.0, attention_dropout=0.0,
                cond_embed_dim=768, micro_cond_encode_dim=256, micro_cond_embed_dim=1280,
                encoder_hidden_size=768, vocab_size=8256, codebook_size=8192, in_channels=768,
                block_out_channels=768, num_res_blocks=3, downsample=size == 512,
                upsample=size == 512, block_num_heads=12, num_hidden_layers=22,
                num_attention_heads=16, intermediate_size=2816, layer_norm_eps=1e-6,
                ln_elementwise_affine=True, sample_size=32 if size == 512 else 16)


def save(args):
    import torch
    from diffusers import AmusedScheduler, UVit2DModel, VQModel
    from diffusers.pipelines.amused.pipeline_amused import AmusedPipeline
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer
    torch.manual_seed(0)
    transformer = UVit2DModel(**published_transformer(args.size))
    vq = VQModel(act_fn="silu", block_out_channels=[128, 256, 256, 512, 768],
                 down_block_types=["DownEncoderBlock2D"] * 5, up_block_types=["UpDecoderBlock2D"] * 5,
                 in_channels=3, out_channels=3, latent_channels=64, layers_per_block=2,
                 norm_num_groups=32, num_vq_embeddings=8192, vq_embed_dim=64,
                 mid_block_add_attention=False, lookup_from_codebook=True, force_upcast=True,
                 sample_size=32)
    text = CLIPTextModelWithProjection(CLIPTextConfig(
        vocab_size=49408, hidden_size=768, intermediate_size=3072, projection_dim=768,
        num_hidden_layers=12, num_attention_heads=12, max_position_embeddings=77,
        hidden_act="quick_gelu", layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0,
        eos_token_id=2))
    tokenizer = CLIPTokenizer.from_pretrained(args.tokenizer)
    scheduler = AmusedScheduler(mask_token_id=8255, masking_schedule="cosine")
    pipe = AmusedPipeline(vqvae=vq, tokenizer=tokenizer, text_encoder=text,
                          transformer=transformer, scheduler=scheduler)
    pipe.save_pretrained(args.dir)
    print(json.dumps({"peer": "saved", "dir": args.dir, "size": args.size}))


def run(args):
    import torch
    set_threads(torch, args.threads)
    # the module itself: diffusers' top level gives a placeholder when it does not count
    # transformers as installed (the stand-in of shim/ has no package metadata)
    from diffusers.pipelines.amused.pipeline_amused import AmusedPipeline
    pipe = AmusedPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)
    stages = {"text": timed(pipe.text_encoder, "forward"), "decode": timed(pipe.vqvae, "decode")}
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.perf_counter()
    with torch.no_grad():
        pipe(args.prompt, num_inference_steps=args.steps, guidance_scale=args.guidance,
             generator=gen)
    seconds = time.perf_counter() - t0
    text_encoder = getattr(sys.modules.get("transformers"), "__version__", "?")
    print(json.dumps({"peer": "run", "seconds": seconds, "text_s": stages["text"][0],
                      "decode_s": stages["decode"][0], "steps": args.steps,
                      "guidance": args.guidance, "threads": torch.get_num_threads(),
                      "transformers": text_encoder}))


def timed(obj, name):
    """Wraps obj.name so that its calls add their seconds to the returned one-element list."""
    spent = [0.0]
    inner = getattr(obj, name)

    def wrapper(*a, **kw):
        t0 = time.perf_counter()
        try:
            return inner(*a, **kw)
        finally:
            spent[0] += time.perf_counter() - t0
    setattr(obj, name, wrapper)
    return spent


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sgemm")
    s.add_argument("--reps", type=int, default=5)
    s.add_argument("--threads", type=int, default=0, help="torch's intra-op threads (0: its default)")
    s = sub.add_parser("save")
    s.add_argument("--size", type=int, choices=[256, 512], required=True)
    s.add_argument("--tokenizer", required=True, help="a folder with vocab.json and merges.txt")
    s.add_argument("dir")
    s = sub.add_parser("run")
    s.add_argument("--model", required=True)
    s.add_argument("--prompt", default="a red apple")
    s.add_argument("--steps", type=int, default=12)
    s.add_argument("--guidance", type=float, default=10.0)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--threads", type=int, default=0, help="torch's intra-op threads (0: its default)")
    args = p.parse_args()
    try:
        {"sgemm": sgemm, "save": save, "run": run}[args.cmd](args)
    except ImportError as e:
        print(json.dumps({"peer": args.cmd, "error": "import failed: %s" % e}))
        sys.exit(3)


if __name__ == "__main__":
    main()
