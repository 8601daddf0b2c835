"""Minimal pure-Python safetensors reader/writer (no PyPI `safetensors` on Debian 12).

Format: u64-LE header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
then the raw little-endian tensor bytes (offsets relative to the end of the header).
"""
import json
import struct

import numpy as np

_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U8": np.uint8, "BOOL": np.bool_,
}
_NAMES = {np.dtype(v).str: k for k, v in _DTYPES.items()}


def load_numpy(path):
    """Return (dict name -> numpy array, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header length {n} exceeds file size")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, info in header.items():
        dt = _DTYPES.get(info["dtype"])
        if dt is None:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {info['dtype']}")
        a, b = info["data_offsets"]
        if not (0 <= a <= b <= len(raw) - base):
            raise ValueError(f"{path}: tensor {name}: offsets out of range")
        arr = np.frombuffer(raw, dtype=np.dtype(dt).newbyteorder("<"), count=(b - a) // np.dtype(dt).itemsize,
                            offset=base + a)
        shape = tuple(info["shape"])
        if int(np.prod(shape, dtype=np.int64)) != arr.size:
            raise ValueError(f"{path}: tensor {name}: shape {shape} does not match {b - a} bytes")
        out[name] = arr.reshape(shape).copy()
    return out, meta


def load_torch(path):
    import torch
    arrays, _ = load_numpy(path)
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


def save(path, tensors, metadata=None):
    """tensors: dict name -> numpy array or torch tensor (written as contiguous little-endian)."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        if hasattr(t, "detach"):
            t = t.detach().cpu().contiguous().numpy()
        arr = np.ascontiguousarray(t)
        key = arr.dtype.newbyteorder("<").str if arr.dtype.byteorder == ">" else arr.dtype.str
        dname = _NAMES.get(key) or _NAMES.get(np.dtype(arr.dtype.type).str)
        if dname is None:
            raise ValueError(f"tensor {name}: unsupported dtype {arr.dtype}")
        data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dname, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = dict(metadata or {"format": "pt"})
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
