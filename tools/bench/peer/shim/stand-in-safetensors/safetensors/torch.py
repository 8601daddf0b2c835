"""safetensors.torch.load_file / save_file over tools/train/safetensors_io.py."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "train"))
import safetensors_io  # noqa: E402


def load_file(filename, device="cpu"):
    tensors = safetensors_io.load_torch(filename)
    return {k: v.to(device) for k, v in tensors.items()} if device != "cpu" else tensors


def save_file(tensors, filename, metadata=None):
    safetensors_io.save(filename, tensors, metadata)
