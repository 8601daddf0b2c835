"""Stand-in for the three transformers classes AmusedPipeline uses (see ../README.md).

The diffusers pipeline loader finds a component's load method through the library's
PreTrainedModel / PreTrainedTokenizer base classes, so both are defined here."""
import json
import os
import shutil
import sys
from types import SimpleNamespace

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "train"))
import amused_nets  # noqa: E402
import bpe  # noqa: E402
import safetensors_io  # noqa: E402

__version__ = "4.38.0-tessera-stand-in"

CLIP_TEXT_DEFAULTS = {
    "architectures": ["CLIPTextModelWithProjection"], "model_type": "clip_text_model",
    "vocab_size": 49408, "hidden_size": 512, "intermediate_size": 2048, "projection_dim": 512,
    "num_hidden_layers": 12, "num_attention_heads": 8, "max_position_embeddings": 77,
    "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "attention_dropout": 0.0,
    "initializer_factor": 1.0, "initializer_range": 0.02, "pad_token_id": 1, "bos_token_id": 0,
    "eos_token_id": 2, "torch_dtype": "float32",
}


class PreTrainedModel(torch.nn.Module):
    pass


class PreTrainedTokenizer:
    pass


class CLIPTextConfig(dict):
    def __init__(self, **kwargs):
        super().__init__(CLIP_TEXT_DEFAULTS)
        self.update(kwargs)

    def to_dict(self):
        return dict(self)


class CLIPTextModelWithProjection(PreTrainedModel):
    def __init__(self, config):
        super().__init__()
        self.config = SimpleNamespace(**config)
        self._config = dict(config)
        self.net = amused_nets.ClipTextModel(dict(config))

    @property
    def dtype(self):
        return torch.float32

    @property
    def device(self):
        return torch.device("cpu")

    def forward(self, input_ids, return_dict=True, output_hidden_states=True):
        out = self.net(input_ids)
        return SimpleNamespace(text_embeds=out["text_embeds"], hidden_states=out["hidden_states"],
                               last_hidden_state=out["last_hidden_state"])

    def state_dict(self, *args, **kwargs):
        return self.net.state_dict(*args, **kwargs)

    def save_pretrained(self, folder, **_ignored):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(self._config, f, indent=2)
        safetensors_io.save(os.path.join(folder, "model.safetensors"), self.net.state_dict())

    @classmethod
    def from_pretrained(cls, folder, **_ignored):
        config = json.load(open(os.path.join(folder, "config.json")))
        model = cls(CLIPTextConfig(**config))
        weights = safetensors_io.load_torch(os.path.join(folder, "model.safetensors"))
        # transformers' files may carry the position_ids buffer; every weight must be there
        missing, _ = model.net.load_state_dict(weights, strict=False)
        if missing:
            raise ValueError(f"{folder}: weights missing: {', '.join(missing[:5])}")
        return model.eval()


class CLIPTokenizer(PreTrainedTokenizer):
    def __init__(self, folder):
        self.folder = folder
        self.bpe = bpe.Tokenizer.load(folder)
        self.model_max_length = self.bpe.max_length

    def __call__(self, text, return_tensors="pt", padding="max_length", truncation=True, max_length=None):
        texts = [text] if isinstance(text, str) else list(text)
        ids = torch.tensor([self.bpe.encode(t) for t in texts], dtype=torch.long)
        return SimpleNamespace(input_ids=ids)

    def save_pretrained(self, folder, **_ignored):
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(self.folder):
            shutil.copy(os.path.join(self.folder, name), folder)

    @classmethod
    def from_pretrained(cls, folder, **_ignored):
        return cls(folder)
