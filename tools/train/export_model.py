"""Write a trained model in the diffusers AmusedPipeline layout (configs + safetensors) with a
model card; refuse if the folder would exceed the size limit."""
import json
import os
import shutil

import safetensors_io as sio

LIMIT_BYTES = 40 * 1000 * 1000
HERE = os.path.dirname(os.path.abspath(__file__))

MODEL_INDEX = {
    "_class_name": "AmusedPipeline", "_diffusers_version": "0.27.2",
    "scheduler": ["diffusers", "AmusedScheduler"],
    "text_encoder": ["transformers", "CLIPTextModelWithProjection"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "transformer": ["diffusers", "UVit2DModel"],
    "vqvae": ["diffusers", "VQModel"],
}


def _dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def export(out_dir, name, text, tm, vq, tokenizer_dir, card_fields):
    tmp = out_dir.rstrip("/") + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    _dump(os.path.join(tmp, "model_index.json"), MODEL_INDEX)
    os.makedirs(os.path.join(tmp, "scheduler"))
    _dump(os.path.join(tmp, "scheduler", "scheduler_config.json"),
          {"_class_name": "AmusedScheduler", "_diffusers_version": "0.27.2",
           "mask_token_id": tm.config["vocab_size"] - 1, "masking_schedule": "cosine"})
    for sub, model, fname in (("text_encoder", text, "model.safetensors"),
                              ("transformer", tm, "diffusion_pytorch_model.safetensors"),
                              ("vqvae", vq, "diffusion_pytorch_model.safetensors")):
        os.makedirs(os.path.join(tmp, sub))
        _dump(os.path.join(tmp, sub, "config.json"), model.config)
        sd = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
        sio.save(os.path.join(tmp, sub, fname), sd, {"format": "pt"})
    shutil.copytree(tokenizer_dir, os.path.join(tmp, "tokenizer"))
    card = open(os.path.join(HERE, "model_card.md.in")).read()
    fields = dict(card_fields, name=name)
    for k, v in fields.items():
        card = card.replace("@" + k + "@", str(v))
    with open(os.path.join(tmp, "README.md"), "w") as f:
        f.write(card)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(tmp) for f in fs)
    if total > LIMIT_BYTES:
        raise SystemExit(f"export is {total / 1e6:.1f} MB, over the {LIMIT_BYTES / 1e6:.0f} MB limit")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return total
