"""Stand-in for the safetensors package (see ../README.md): diffusers imports it at load."""
from . import torch  # noqa: F401  (diffusers calls safetensors.torch.load_file / save_file)

__version__ = "0.4.2-tessera-stand-in"
