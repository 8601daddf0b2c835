"""Check the PyTorch aMUSEd networks (amused_nets.py) against the reference goldens.

Usage: /usr/bin/python3 golden_check.py GOLDENS_DIR
Exit 0 = all match, 1 = mismatch or bad data, 77 = torch missing (reason printed on stdout).
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _load_model(goldens, sub, kind):
    import amused_nets as nets
    import safetensors_io as sio
    folder = os.path.join(goldens, sub)
    cfg = json.load(open(os.path.join(folder, "config.json")))
    cls = {"text": nets.ClipTextModel, "transformer": nets.UVit2D, "vq": nets.VQModel}[kind]
    model = cls(cfg)
    wfile = "model.safetensors" if kind == "text" else "diffusion_pytorch_model.safetensors"
    sd = sio.load_torch(os.path.join(folder, wfile))
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise ValueError(f"{sub}: missing {missing[:5]} unexpected {unexpected[:5]}")
    return model.eval()


class Checker:
    def __init__(self):
        self.failures = 0
        self.worst = {}

    def close(self, case, name, got, ref, tol):
        import torch
        got = got.detach().double()
        ref = ref.double()
        if tuple(got.shape) != tuple(ref.shape):
            print(f"FAIL {case} {name}: shape {tuple(got.shape)} != {tuple(ref.shape)}")
            self.failures += 1
            return
        err = (got - ref).abs()
        bad = err > tol["abs"] + tol["rel"] * ref.abs()
        maxerr = float(err.max()) if err.numel() else 0.0
        group = case.split("_")[0]
        self.worst[group] = max(self.worst.get(group, 0.0), maxerr)
        status = "ok  " if not bool(bad.any()) else "FAIL"
        if status == "FAIL":
            self.failures += 1
        print(f"{status} {case} {name}: max abs err {maxerr:.3g}")

    def exact(self, case, name, got, ref, allowed=None):
        diff = got.cpu() != ref
        if allowed is not None:
            diff = diff & ~allowed
        n = int(diff.sum())
        print(f"{'ok  ' if n == 0 else 'FAIL'} {case} {name}: {n} mismatching entries")
        if n:
            self.failures += 1


def run(goldens):
    import torch
    import safetensors_io as sio
    torch.set_grad_enabled(False)
    manifest = json.load(open(os.path.join(goldens, "manifest.json")))
    ck = Checker()
    cache = {}
    for case in manifest["cases"]:
        group, name, tol = case["group"], case["name"], case["tolerance"]
        if group not in ("text", "transformer", "vq"):
            continue
        t = {}
        for f in case["files"]:
            if f.endswith(".safetensors"):
                t.update(sio.load_torch(os.path.join(goldens, f)))
        key = case["model"]
        if key not in cache:
            cache[key] = _load_model(goldens, key, group)
        model = cache[key]
        if group == "text":
            out = model(t["input_ids"])
            for k in ("encoder_hidden_states", "text_embeds", "last_hidden_state"):
                ck.close(name, k, out[k], t[k], tol)
            for i, h in enumerate(out["hidden_states"]):
                ck.close(name, f"hidden_states.{i}", h, t[f"hidden_states.{i}"], tol)
            ck.exact(name, "pooled_index", t["input_ids"].argmax(-1), t["pooled_index"])
        elif group == "transformer":
            trace = {}
            logits = model(t["input_ids"], t["encoder_hidden_states"], t["pooled_text_emb"], t["micro_conds"], trace)
            for k, v in trace.items():
                if k in t:
                    ck.close(name, k, v, t[k], tol)
            ck.close(name, "logits", logits, t["logits"], tol)
        else:
            trace = {}
            if "image" in t:
                lat = model.encode(t["image"], trace)
                for k, v in trace.items():
                    if k in t:
                        ck.close(name, k, v, t[k], tol)
                ck.close(name, "latents", lat, t["latents"], tol)
                idx = model.nearest(t["latents"])
                # Near-ties may legitimately resolve the other way (README: nearest_margin).
                ck.exact(name, "indices", idx, t["indices"], allowed=t["nearest_margin"] < 1e-4)
            trace = {}
            q = model.lookup(t["indices"])
            ck.close(name, "quantized", q, t["quantized"], tol)
            dec = model.decode_indices(t["indices"], trace)
            for k, v in trace.items():
                if k in t:
                    ck.close(name, k, v, t[k], tol)
            ck.close(name, "decoded", dec, t["decoded"], tol)
    print("worst max abs error per group:", {k: float(f"{v:.3g}") for k, v in ck.worst.items()})
    return ck.failures


def main():
    if len(sys.argv) != 2:
        print("usage: golden_check.py GOLDENS_DIR")
        return 2
    goldens = sys.argv[1]
    try:
        import torch  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as e:
        print(f"SKIP: PyTorch/numpy not importable by {sys.executable} ({e}); install python3-torch")
        return 77
    if not os.path.isfile(os.path.join(goldens, "manifest.json")):
        print(f"SKIP: goldens not found at {goldens}")
        return 77
    torch.set_num_threads(1)
    failures = run(goldens)
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
