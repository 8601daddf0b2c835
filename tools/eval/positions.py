"""How many token positions a UViT tells apart with nothing but mask tokens in (issue 17).

The aMUSEd family has no positional embedding: only the conv stage's 3x3 depthwise convs, fed
by the zero padding at the borders, tell one position from another. When their reach is
shorter than half the token grid, the middle of an all-masked grid is one position to the model
(the second generation's 16x16 grid with one conv block a side: 100 of 256), and every prompt
starts as a centred square. Cheap (one forward pass), so the evaluation reports it for every model.

  /usr/bin/python3 tools/eval/positions.py MODEL_DIR"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "train"))
import amused_nets as nets  # noqa: E402
import safetensors_io as sio  # noqa: E402


def distinct_positions(model_dir, seed=0):
    """-> (positions told apart, positions): distinct logit vectors over an all-masked grid."""
    folder = os.path.join(model_dir, "transformer")
    cfg = json.load(open(os.path.join(folder, "config.json")))
    tm = nets.UVit2D(cfg)
    tm.load_state_dict(sio.load_torch(os.path.join(folder, "diffusion_pytorch_model.safetensors")))
    tm.eval()
    side = cfg["sample_size"]
    g = torch.Generator().manual_seed(seed)
    ehs = torch.randn(1, 77, cfg["encoder_hidden_size"], generator=g)
    pooled = torch.randn(1, cfg["cond_embed_dim"], generator=g)
    micro = torch.tensor([[float(side * 8), float(side * 8), 0.0, 0.0, 6.0]])
    with torch.no_grad():
        logits = tm(torch.full((1, side, side), cfg["vocab_size"] - 1), ehs, pooled, micro)[0]
    v = logits.permute(1, 2, 0).reshape(side * side, -1)
    tol = 1e-4 * float(v.abs().max())
    seen = []
    for row in v:
        if not any(float((row - s).abs().max()) <= tol for s in seen):
            seen.append(row)
    return len(seen), side * side


if __name__ == "__main__":
    told, total = distinct_positions(sys.argv[1])
    print(f"{told} of {total} positions told apart with an all-masked grid")
