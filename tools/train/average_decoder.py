"""Average the weights of several VQ decoder checkpoints (the vqdec stage's vqdec.pt), or of
several transformer checkpoints (the tm stage's tm.pt: its transformer and text encoder).

Usage: /usr/bin/python3 average_decoder.py OUT.pt CHECKPOINT.pt [CHECKPOINT.pt ...]
       /usr/bin/python3 average_decoder.py --self-test

A decoder fine-tuned against a critic (train.py --vqdec-adversarial) swings from checkpoint to
checkpoint (the FID of its reconstructions 6.1-7.4 between steps 2,500 and 3,000 in session 11):
the mean of the last few checkpoints' weights, taken along one run, kept the PSNR and scored
better than each of them on the measures that swing (session 12, tools/train/README.md). OUT
has the format of the last checkpoint given (its step, optimiser and critic state), with the
floating-point tensors of "model" (a vqdec.pt) or of "transformer" and "text" (a tm.pt)
averaged, so that `train.py --stage export` exports it like any checkpoint of its stage. Exit 0 = written (or self-test passed), 1 = bad input, 77 = torch missing.
"""
import sys


PARTS = ("model", "transformer", "text")   # vqdec.pt's weights; tm.pt's transformer and text encoder


def average(paths):
    import torch
    cks = [torch.load(p, map_location="cpu") for p in paths]
    parts = [k for k in PARTS if k in cks[0]]
    if not parts:
        raise ValueError(f"{paths[0]}: no weights ({', '.join(PARTS)}) in it")
    out = dict(cks[-1])
    for part in parts:
        first = cks[0][part]
        for p, c in zip(paths, cks):
            if part not in c or set(c[part]) != set(first):
                raise ValueError(f"{p}: not a checkpoint with the same weights as {paths[0]}")
            for k, v in c[part].items():
                if v.shape != first[k].shape:
                    raise ValueError(f"{p}: {k} has shape {tuple(v.shape)}, {paths[0]} {tuple(first[k].shape)}")
        out[part] = {k: sum(c[part][k].double() for c in cks).div(len(cks)).to(v.dtype)
                     if torch.is_floating_point(v) else v.clone() for k, v in first.items()}
    out["averaged_from"] = [int(c.get("step", -1)) for c in cks]
    return out


def self_test():
    import os
    import tempfile
    import torch
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i, (a, n) in enumerate([(1.0, 3), (2.0, 5), (6.0, 7)]):
            p = os.path.join(d, f"ck{i}.pt")
            torch.save({"model": {"w": torch.full((2, 3), a), "count": torch.tensor(n)},
                        "step": 100 * (i + 1)}, p)
            paths.append(p)
        out = average(paths)
        assert torch.equal(out["model"]["w"], torch.full((2, 3), 3.0)), out["model"]["w"]
        assert int(out["model"]["count"]) == 3, "integer tensors come from the first checkpoint"
        assert out["step"] == 300 and out["averaged_from"] == [100, 200, 300]
        torch.save({"model": {"w": torch.zeros(3, 2), "count": torch.tensor(0)}}, paths[1])
        try:
            average(paths)
        except ValueError as e:
            assert "shape" in str(e)
        else:
            raise AssertionError("a checkpoint of other shapes was averaged")
        # a transformer stage's checkpoints: both networks averaged, the optimiser's state kept
        for i, a in enumerate((2.0, 4.0)):
            torch.save({"transformer": {"w": torch.full((2,), a)}, "text": {"e": torch.full((3,), -a)},
                        "opt": {"lr": i}, "step": 10 * (i + 1)}, paths[i])
        out = average(paths[:2])
        assert torch.equal(out["transformer"]["w"], torch.full((2,), 3.0))
        assert torch.equal(out["text"]["e"], torch.full((3,), -3.0))
        assert out["opt"] == {"lr": 1} and out["averaged_from"] == [10, 20] and "model" not in out
    print("average_decoder self-test: ok")


def main():
    try:
        import torch
    except ImportError as e:
        print(f"skip: torch is not importable ({e}); use Debian's /usr/bin/python3 (python3-torch)")
        return 77
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    if len(sys.argv) < 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 1
    try:
        out = average(sys.argv[2:])
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        print(f"average_decoder: {e}", file=sys.stderr)
        return 1
    torch.save(out, sys.argv[1])
    print(f"{sys.argv[1]}: the mean of {len(sys.argv) - 2} checkpoints (steps {out['averaged_from']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
