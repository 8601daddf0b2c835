"""PyTorch versions of the three aMUSEd networks, written for Tessera.

Module and parameter names follow the diffusers / transformers checkpoints exactly, so a
state dict loads and saves without renaming (see amused-spec.md sections 1-3):
  * ClipTextModel   == transformers CLIPTextModelWithProjection (keys text_model.*, text_projection)
  * UVit2D          == diffusers UVit2DModel
  * VQModel         == diffusers VQModel (norm_type "group", lookup_from_codebook)
Only torch (>= 1.13) is needed.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------
# shared pieces

class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6, affine=True):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim)) if affine else None

    def forward(self, x):
        var = x.float().pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(var + self.eps)
        return x * self.weight if self.weight is not None else x


class LayerNormNoBias(nn.Module):
    """nn.LayerNorm(bias=False) only exists from torch 2.1 on."""

    def __init__(self, dim, eps=1e-6, affine=True):
        super().__init__()
        self.dim, self.eps = dim, eps
        self.weight = nn.Parameter(torch.ones(dim)) if affine else None

    def forward(self, x):
        return F.layer_norm(x, (self.dim,), self.weight, None, self.eps)


def attention(q, k, v, heads, causal=False):
    """q [B,N,C], k/v [B,M,C] -> [B,N,C]; scale dim_head^-0.5, no masks unless causal."""
    b, n, c = q.shape
    m = k.shape[1]
    d = c // heads
    q = q.view(b, n, heads, d).transpose(1, 2)
    k = k.view(b, m, heads, d).transpose(1, 2)
    v = v.view(b, m, heads, d).transpose(1, 2)
    s = torch.matmul(q, k.transpose(-1, -2)) * (d ** -0.5)
    if causal:
        mask = torch.ones(n, m, dtype=torch.bool, device=q.device).triu(1)
        s = s.masked_fill(mask, torch.finfo(s.dtype).min)
    p = s.softmax(dim=-1)
    return torch.matmul(p, v).transpose(1, 2).reshape(b, n, c)


class Attention(nn.Module):
    """diffusers Attention (to_q/to_k/to_v/to_out.0), no processor tricks."""

    def __init__(self, dim, heads, kv_dim=None, bias=False):
        super().__init__()
        self.heads = heads
        kv_dim = kv_dim or dim
        self.to_q = nn.Linear(dim, dim, bias=bias)
        self.to_k = nn.Linear(kv_dim, dim, bias=bias)
        self.to_v = nn.Linear(kv_dim, dim, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim, bias=bias), nn.Dropout(0.0)])

    def forward(self, x, context=None):
        context = x if context is None else context
        out = attention(self.to_q(x), self.to_k(context), self.to_v(context), self.heads)
        return self.to_out[1](self.to_out[0](out))


# ---------------------------------------------------------------------------------------------
# CLIP text encoder

class _ClipEmbeddings(nn.Module):
    def __init__(self, vocab, dim, max_pos):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, dim)
        self.position_embedding = nn.Embedding(max_pos, dim)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device)
        return self.token_embedding(ids) + self.position_embedding(pos)[None]


class _ClipAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x):
        return self.out_proj(attention(self.q_proj(x), self.k_proj(x), self.v_proj(x), self.heads, causal=True))


class _ClipMlp(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.fc1 = nn.Linear(dim, inner)
        self.fc2 = nn.Linear(inner, dim)

    def forward(self, x):
        x = self.fc1(x)
        return self.fc2(x * torch.sigmoid(1.702 * x))  # quick_gelu


class _ClipLayer(nn.Module):
    def __init__(self, dim, heads, inner, eps):
        super().__init__()
        self.self_attn = _ClipAttention(dim, heads)
        self.layer_norm1 = nn.LayerNorm(dim, eps=eps)
        self.mlp = _ClipMlp(dim, inner)
        self.layer_norm2 = nn.LayerNorm(dim, eps=eps)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class _ClipEncoder(nn.Module):
    def __init__(self, n, dim, heads, inner, eps):
        super().__init__()
        self.layers = nn.ModuleList([_ClipLayer(dim, heads, inner, eps) for _ in range(n)])


class _ClipTextTransformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        self.embeddings = _ClipEmbeddings(cfg["vocab_size"], d, cfg["max_position_embeddings"])
        self.encoder = _ClipEncoder(cfg["num_hidden_layers"], d, cfg["num_attention_heads"],
                                    cfg["intermediate_size"], cfg["layer_norm_eps"])
        self.final_layer_norm = nn.LayerNorm(d, eps=cfg["layer_norm_eps"])


class ClipTextModel(nn.Module):
    """CLIPTextModelWithProjection as AmusedPipeline uses it."""

    def __init__(self, cfg):
        super().__init__()
        self.config = dict(cfg)
        self.text_model = _ClipTextTransformer(cfg)
        self.text_projection = nn.Linear(cfg["hidden_size"], cfg["projection_dim"], bias=False)

    def forward(self, ids):
        """-> dict(encoder_hidden_states = hidden_states[-2], text_embeds, last_hidden_state, hidden_states)."""
        tm = self.text_model
        h = tm.embeddings(ids)
        states = [h]
        for layer in tm.encoder.layers:
            h = layer(h)
            states.append(h)
        last = tm.final_layer_norm(h)
        # Legacy pooling (eos_token_id == 2 in the config): first position of the largest id.
        pooled = last[torch.arange(ids.shape[0], device=ids.device), ids.argmax(dim=-1)]
        return {"encoder_hidden_states": states[-2], "text_embeds": self.text_projection(pooled),
                "last_hidden_state": last, "hidden_states": states}


# ---------------------------------------------------------------------------------------------
# UVit2DModel

def timestep_embedding(t, dim, max_period=10000):
    """get_timestep_embedding(flip_sin_to_cos=True, downscale_freq_shift=0)."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(0, half, dtype=torch.float32, device=t.device) / half
    emb = t[:, None].float() * torch.exp(exponent)[None, :]
    return torch.cat([torch.cos(emb), torch.sin(emb)], dim=-1)


class _ConvEmbed(nn.Module):
    def __init__(self, in_ch, block_ch, vocab, eps, affine, bias):
        super().__init__()
        self.embeddings = nn.Embedding(vocab, in_ch)
        self.layer_norm = RMSNorm(in_ch, eps, affine)
        self.conv = nn.Conv2d(in_ch, block_ch, 1, bias=bias)

    def forward(self, ids):
        return self.conv(self.layer_norm(self.embeddings(ids)).permute(0, 3, 1, 2))


class _GlobalResponseNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, dim))

    def forward(self, x):
        gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
        nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
        return self.gamma * (x * nx) + self.beta + x


class _ConvNextBlock(nn.Module):
    def __init__(self, ch, cond_dim, eps, affine, bias, expansion=4):
        super().__init__()
        self.depthwise = nn.Conv2d(ch, ch, 3, padding=1, groups=ch, bias=bias)
        self.norm = RMSNorm(ch, eps, affine)
        self.channelwise_linear_1 = nn.Linear(ch, ch * expansion, bias=bias)
        self.channelwise_norm = _GlobalResponseNorm(ch * expansion)
        self.channelwise_linear_2 = nn.Linear(ch * expansion, ch, bias=bias)
        self.cond_embeds_mapper = nn.Linear(cond_dim, ch * 2, bias=bias)

    def forward(self, x, cond):
        r = x
        x = self.norm(self.depthwise(x).permute(0, 2, 3, 1))
        x = self.channelwise_linear_2(self.channelwise_norm(F.gelu(self.channelwise_linear_1(x))))
        x = x.permute(0, 3, 1, 2) + r
        scale, shift = self.cond_embeds_mapper(F.silu(cond)).chunk(2, dim=1)
        return x * (1 + scale[:, :, None, None]) + shift[:, :, None, None]


class _SkipFFBlock(nn.Module):
    def __init__(self, dim, heads, kv_in, eps, affine, bias):
        super().__init__()
        self.kv_mapper = nn.Linear(kv_in, dim, bias=bias) if kv_in != dim else None
        self.norm1 = RMSNorm(dim, 1e-6, affine)
        self.attn1 = Attention(dim, heads, bias=bias)
        self.norm2 = RMSNorm(dim, 1e-6, affine)
        self.attn2 = Attention(dim, heads, bias=bias)

    def forward(self, x, ehs):
        if self.kv_mapper is not None:
            ehs = self.kv_mapper(F.silu(ehs))
        x = x + self.attn1(self.norm1(x), ehs)
        return x + self.attn2(self.norm2(x), ehs)


class _Resample(nn.Module):
    """Downsample2D / Upsample2D with rms_norm and a 2x2 stride-2 (transposed) conv."""

    def __init__(self, ch, eps, affine, bias, up):
        super().__init__()
        self.up = up
        self.norm = RMSNorm(ch, eps, affine)
        self.conv = (nn.ConvTranspose2d if up else nn.Conv2d)(ch, ch, 2, stride=2, bias=bias)

    def forward(self, x):
        x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        if not self.up:
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class _UVitBlock(nn.Module):
    def __init__(self, ch, n, hidden, heads, eps, affine, bias, down, up):
        super().__init__()
        self.downsample = _Resample(ch, eps, affine, bias, False) if down else None
        self.res_blocks = nn.ModuleList([_ConvNextBlock(ch, hidden, eps, affine, bias) for _ in range(n)])
        self.attention_blocks = nn.ModuleList([_SkipFFBlock(ch, heads, hidden, eps, affine, bias)
                                               for _ in range(n)])
        self.upsample = _Resample(ch, eps, affine, bias, True) if up else None

    def forward(self, x, cond, ehs):
        if self.downsample is not None:
            x = self.downsample(x)
        for res, att in zip(self.res_blocks, self.attention_blocks):
            x = res(x, cond)
            b, c, h, w = x.shape
            x = att(x.reshape(b, c, h * w).permute(0, 2, 1), ehs).permute(0, 2, 1).reshape(b, c, h, w)
        if self.upsample is not None:
            x = self.upsample(x)
        return x


class _AdaNorm(nn.Module):
    """AdaLayerNormContinuous: norm(x) * (1 + scale) + shift from silu(cond)."""

    def __init__(self, dim, cond_dim, eps, affine, bias, kind):
        super().__init__()
        self.linear = nn.Linear(cond_dim, dim * 2, bias=bias)
        self.norm = RMSNorm(dim, eps, affine) if kind == "rms_norm" else LayerNormNoBias(dim, eps, affine)

    def forward(self, x, cond):
        scale, shift = self.linear(F.silu(cond)).chunk(2, dim=1)
        return self.norm(x) * (1 + scale)[:, None, :] + shift[:, None, :]


class _GEGLU(nn.Module):
    def __init__(self, dim, inner, bias):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2, bias=bias)

    def forward(self, x):
        a, g = self.proj(x).chunk(2, dim=-1)
        return a * F.gelu(g)


class _FeedForward(nn.Module):
    def __init__(self, dim, inner, bias):
        super().__init__()
        self.net = nn.ModuleList([_GEGLU(dim, inner, bias), nn.Dropout(0.0), nn.Linear(inner, dim, bias=bias)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class _TransformerLayer(nn.Module):
    def __init__(self, dim, heads, inner, eps, affine, bias):
        super().__init__()
        self.norm1 = _AdaNorm(dim, dim, eps, affine, bias, "rms_norm")
        self.attn1 = Attention(dim, heads, bias=bias)
        self.norm2 = _AdaNorm(dim, dim, eps, affine, bias, "rms_norm")
        self.attn2 = Attention(dim, heads, bias=bias)
        self.norm3 = _AdaNorm(dim, dim, eps, affine, bias, "layer_norm")
        self.ff = _FeedForward(dim, inner, bias)

    def forward(self, h, ehs, cond):
        h = h + self.attn1(self.norm1(h, cond))
        h = h + self.attn2(self.norm2(h, cond), ehs)
        return h + self.ff(self.norm3(h, cond))


class _TimestepEmbedding(nn.Module):
    def __init__(self, in_dim, dim, bias):
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, dim, bias=bias)
        self.linear_2 = nn.Linear(dim, dim, bias=bias)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class _MlmLayer(nn.Module):
    def __init__(self, block_ch, in_ch, codebook, eps, affine, bias):
        super().__init__()
        self.conv1 = nn.Conv2d(block_ch, in_ch, 1, bias=bias)
        self.layer_norm = RMSNorm(in_ch, eps, affine)
        self.conv2 = nn.Conv2d(in_ch, codebook, 1, bias=bias)

    def forward(self, x):
        x = self.layer_norm(self.conv1(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.conv2(x)


class UVit2D(nn.Module):
    """diffusers UVit2DModel: (ids [B,h,w], ehs [B,L,E], pooled [B,P], micro_conds [B,5]) -> logits [B,K,h,w]."""

    def __init__(self, cfg):
        super().__init__()
        self.config = dict(cfg)
        c = cfg
        eps, aff, bias = c["layer_norm_eps"], c["ln_elementwise_affine"], c["use_bias"]
        hid, ch = c["hidden_size"], c["block_out_channels"]
        self.encoder_proj = nn.Linear(c["encoder_hidden_size"], hid, bias=bias)
        self.encoder_proj_layer_norm = RMSNorm(hid, eps, aff)
        self.embed = _ConvEmbed(c["in_channels"], ch, c["vocab_size"], eps, aff, bias)
        self.cond_embed = _TimestepEmbedding(c["micro_cond_embed_dim"] + c["cond_embed_dim"], hid, bias)
        self.down_block = _UVitBlock(ch, c["num_res_blocks"], hid, c["block_num_heads"], eps, aff, bias,
                                     c["downsample"], False)
        self.project_to_hidden_norm = RMSNorm(ch, eps, aff)
        self.project_to_hidden = nn.Linear(ch, hid, bias=bias)
        self.transformer_layers = nn.ModuleList([
            _TransformerLayer(hid, c["num_attention_heads"], c["intermediate_size"], eps, aff, bias)
            for _ in range(c["num_hidden_layers"])])
        self.project_from_hidden_norm = RMSNorm(hid, eps, aff)
        self.project_from_hidden = nn.Linear(hid, ch, bias=bias)
        self.up_block = _UVitBlock(ch, c["num_res_blocks"], hid, c["block_num_heads"], eps, aff, bias,
                                   False, c["upsample"])
        self.mlm_layer = _MlmLayer(ch, c["in_channels"], c["codebook_size"], eps, aff, bias)

    def forward(self, ids, ehs, pooled, micro_conds, trace=None):
        ehs = self.encoder_proj_layer_norm(self.encoder_proj(ehs))
        mc = timestep_embedding(micro_conds.flatten(), self.config["micro_cond_encode_dim"])
        cond = self.cond_embed(torch.cat([pooled, mc.reshape(ids.shape[0], -1)], dim=1))
        x = self.embed(ids)
        if trace is not None:
            trace.update(encoder_hidden_states_projected=ehs, cond_embed=cond, embed=x)
        x = self.down_block(x, cond, ehs)
        b, c, h, w = x.shape
        if trace is not None:
            trace["down_block"] = x
        x = self.project_to_hidden(self.project_to_hidden_norm(x.permute(0, 2, 3, 1).reshape(b, h * w, c)))
        if trace is not None:
            trace["project_to_hidden"] = x
        for i, layer in enumerate(self.transformer_layers):
            x = layer(x, ehs, cond)
            if trace is not None:
                trace[f"transformer_layers.{i}"] = x
        x = self.project_from_hidden(self.project_from_hidden_norm(x))
        if trace is not None:
            trace["project_from_hidden"] = x
        x = self.up_block(x.reshape(b, h, w, c).permute(0, 3, 1, 2), cond, ehs)
        if trace is not None:
            trace["up_block"] = x
        return self.mlm_layer(x)


# ---------------------------------------------------------------------------------------------
# VQModel

class _Resnet(nn.Module):
    def __init__(self, cin, cout, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=1e-6)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-6)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.conv_shortcut is None else self.conv_shortcut(x)) + h


class _ConvHolder(nn.Module):
    def __init__(self, ch, stride):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=stride, padding=0 if stride == 2 else 1)


class _DownBlock(nn.Module):
    def __init__(self, cin, cout, n, groups, down):
        super().__init__()
        self.resnets = nn.ModuleList([_Resnet(cin if i == 0 else cout, cout, groups) for i in range(n)])
        self.downsamplers = nn.ModuleList([_ConvHolder(cout, 2)]) if down else None

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0].conv(F.pad(x, (0, 1, 0, 1)))
        return x


class _UpBlock(nn.Module):
    def __init__(self, cin, cout, n, groups, up):
        super().__init__()
        self.resnets = nn.ModuleList([_Resnet(cin if i == 0 else cout, cout, groups) for i in range(n)])
        self.upsamplers = nn.ModuleList([_ConvHolder(cout, 1)]) if up else None

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        if self.upsamplers is not None:
            x = self.upsamplers[0].conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return x


class _MidBlock(nn.Module):
    def __init__(self, ch, groups):
        super().__init__()
        self.resnets = nn.ModuleList([_Resnet(ch, ch, groups), _Resnet(ch, ch, groups)])

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        return x


class _Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        chs, g, n = cfg["block_out_channels"], cfg["norm_num_groups"], cfg["layers_per_block"]
        self.conv_in = nn.Conv2d(cfg["in_channels"], chs[0], 3, padding=1)
        self.down_blocks = nn.ModuleList([
            _DownBlock(chs[max(i - 1, 0)], chs[i], n, g, i < len(chs) - 1) for i in range(len(chs))])
        self.mid_block = _MidBlock(chs[-1], g)
        self.conv_norm_out = nn.GroupNorm(g, chs[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(chs[-1], cfg["latent_channels"], 3, padding=1)

    def forward(self, x, trace=None):
        x = self.conv_in(x)
        for i, b in enumerate(self.down_blocks):
            x = b(x)
            if trace is not None:
                trace[f"enc.down_blocks.{i}"] = x
        x = self.mid_block(x)
        if trace is not None:
            trace["enc.mid_block"] = x
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class _Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        chs, g, n = cfg["block_out_channels"][::-1], cfg["norm_num_groups"], cfg["layers_per_block"] + 1
        self.conv_in = nn.Conv2d(cfg["latent_channels"], chs[0], 3, padding=1)
        self.mid_block = _MidBlock(chs[0], g)
        self.up_blocks = nn.ModuleList([
            _UpBlock(chs[max(i - 1, 0)], chs[i], n, g, i < len(chs) - 1) for i in range(len(chs))])
        self.conv_norm_out = nn.GroupNorm(g, chs[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(chs[-1], cfg["out_channels"], 3, padding=1)

    def forward(self, x, trace=None):
        x = self.conv_in(x)
        if trace is not None:
            trace["dec.conv_in"] = x
        x = self.mid_block(x)
        if trace is not None:
            trace["dec.mid_block"] = x
        for i, b in enumerate(self.up_blocks):
            x = b(x)
            if trace is not None:
                trace[f"dec.up_blocks.{i}"] = x
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class _Quantizer(nn.Module):
    def __init__(self, n, dim):
        super().__init__()
        self.embedding = nn.Embedding(n, dim)


class VQModel(nn.Module):
    """diffusers VQModel as aMUSEd uses it; images in [0,1]."""

    def __init__(self, cfg):
        super().__init__()
        self.config = dict(cfg)
        lat = cfg["latent_channels"]
        emb = cfg.get("vq_embed_dim") or lat
        self.encoder = _Encoder(cfg)
        self.quant_conv = nn.Conv2d(lat, emb, 1)
        self.quantize = _Quantizer(cfg["num_vq_embeddings"], emb)
        self.post_quant_conv = nn.Conv2d(emb, lat, 1)
        self.decoder = _Decoder(cfg)

    def encode(self, x, trace=None):
        return self.quant_conv(self.encoder(x, trace))

    def nearest(self, z):
        """z [B,C,h,w] -> indices [B,h,w] (exact squared distance; cdist picks the same argmin)."""
        b, c, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, c)
        cb = self.quantize.embedding.weight
        d = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ cb.t() + cb.pow(2).sum(1)[None]
        return d.argmin(dim=1).view(b, h, w)

    def lookup(self, idx):
        return self.quantize.embedding(idx).permute(0, 3, 1, 2)

    def decode_latent(self, q, trace=None):
        q = self.post_quant_conv(q)
        if trace is not None:
            trace["dec.post_quant_conv"] = q
        return self.decoder(q, trace)

    def decode_indices(self, idx, trace=None):
        return self.decode_latent(self.lookup(idx), trace)
