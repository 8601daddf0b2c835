"""--init-from MODEL_DIR: start a stage from an exported model's weights (diffusers layout) when
its run folder has no checkpoint yet. Every tensor whose name and shape match is copied; the
rest keep their fresh initialisation (a new VQ depth or codebook size changes most VQ and some
transformer shapes; the text encoder and tokenizer carry over whole)."""
import os
import shutil

import torch

import safetensors_io as sio

FILES = {"text": ("text_encoder", "model.safetensors"),
         "transformer": ("transformer", "diffusion_pytorch_model.safetensors"),
         "vq": ("vqvae", "diffusion_pytorch_model.safetensors")}


def load_matching(module, model_dir, part, log):
    path = os.path.join(model_dir, *FILES[part])
    if not os.path.exists(path):
        log(f"init-from: {path} missing, {part} starts fresh")
        return 0
    src = sio.load_torch(path)
    own = module.state_dict()
    copied = {k: v for k, v in src.items() if k in own and tuple(own[k].shape) == tuple(v.shape)}
    with torch.no_grad():
        for k, v in copied.items():
            own[k].copy_(v.to(own[k].dtype))
    log(f"init-from {model_dir}: {part}: {len(copied)}/{len(own)} tensors copied "
        f"({sum(v.numel() for v in copied.values()) / max(1, sum(v.numel() for v in own.values())):.0%} of the weights)")
    return len(copied)


def copy_tokenizer(model_dir, out, vocab_size, log):
    """Reuse the model's tokenizer when its vocabulary has the preset's size (its text encoder's
    embedding then carries over)."""
    src = os.path.join(model_dir, "tokenizer")
    import json
    vocab = os.path.join(src, "vocab.json")
    if not os.path.exists(vocab) or len(json.load(open(vocab, encoding="utf-8"))) != vocab_size:
        return False
    shutil.copytree(src, out)
    log(f"init-from: tokenizer copied from {src}")
    return True
