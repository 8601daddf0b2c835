"""Model sizes and step counts. `full` is the second-generation model (issue 17: 8x VQ, 16x16
tokens, 1,024 codes, transformer layers at 8x8 after UViT's 2x downsampling, trained on the
concept set of tools/data/concepts.json); `v1` the first (16x VQ, 8x8 tokens, all emoji);
`smoke` proves the loop end to end in seconds. Each fits 40 MB fp32."""

PRESETS = {
    "full": {
        "vocab_size": 2048,          # BPE vocabulary incl. 512 byte symbols and 2 specials
        "concepts": True,            # train on tools/data/concepts.json's concept set
        "text": {"hidden_size": 128, "intermediate_size": 512, "num_hidden_layers": 4,
                 "num_attention_heads": 4, "projection_dim": 128},
        # latent 64 (session 16; 16 before): with the VQ stage's critic from early on, the wider
        # latent carries the outline weight and shading that tell styles apart (keeps style
        # 0.91 of the classifier's real-image accuracy, against 0.73 at 16 with the critic
        # only on a fine-tuned decoder)
        "vq": {"block_out_channels": [32, 48, 64, 128], "layers_per_block": 1, "latent_channels": 64,
               "num_vq_embeddings": 1024, "norm_num_groups": 8},
        # num_res_blocks 3: the family has no positional embedding, only the conv stage's 3x3
        # depthwise convs tell positions apart (from the zero padding at the borders). With one
        # block a side, every token 4-11 tokens from the left/top looked the same to the model
        # (the centre 8x8 of the grid, up to the 2x resampling's parity) and every prompt drew
        # a square; three blocks a side reach the middle of the 16x16 grid.
        "transformer": {"hidden_size": 160, "num_hidden_layers": 5, "num_attention_heads": 4,
                        "intermediate_size": 512, "in_channels": 64, "block_out_channels": 128,
                        "block_num_heads": 4, "num_res_blocks": 3, "micro_cond_encode_dim": 32,
                        "downsample": True},
        # the critic from 15 % of the schedule at weight 0.1, as the shipped VQ's run (session 16,
        # tools/train/README.md)
        "vq_train": {"steps": 3500, "batch": 16, "lr": 4e-4, "crop": 64, "crop_full_after": 3000,
                     "disc_start": 525, "disc_weight": 0.1},
        "vqdec_train": {"steps": 4000, "batch": 16, "lr": 2e-4},
        # tokens: samples encoded once (tokens.pt in the run folder) that the transformer
        # stage draws its batches from
        # freeze_text: the text encoder as --init-from gives it, each caption encoded once;
        # canonical: 60 % of every batch from the plain-prompt layout of every item; placed:
        # 20 % from every item at a named place on a background (4 copies; session 9: scenes
        # drew only their background, the one-object scene was 2 % of a batch)
        # region: 30 % of samples masked as the editing modes mask (train_tm.region_masks;
        # session 10, from step 8,000)
        "tm_train": {"steps": 3500, "batch": 32, "lr": 8e-4, "text_lr": 2.5e-4, "tokens": 4000,
                     "freeze_text": True, "canonical": 0.6, "placed": 0.2, "placed_copies": 4,
                     "region": 0.3},
        # the exported model's default guidance (tessera-defaults.json): measured best of
        # 1 / 1.5 / 2 / 4 / 10 by tools/eval/evaluate.py --guidance (session 8: 2); session 9
        # at step 4,000: concept accuracy 0.79 / 0.81 / 0.81 / 0.77 / 0.62 at 1 / 1.25 / 1.5 / 2 / 3
        "sampling": {"guidance": 1.5},
    },
    "v1": {
        "vocab_size": 2048,          # BPE vocabulary incl. 512 byte symbols and 2 specials
        "text": {"hidden_size": 128, "intermediate_size": 512, "num_hidden_layers": 4,
                 "num_attention_heads": 4, "projection_dim": 128},
        "vq": {"block_out_channels": [32, 48, 64, 96, 128], "layers_per_block": 1, "latent_channels": 32,
               "num_vq_embeddings": 512, "norm_num_groups": 8},
        "transformer": {"hidden_size": 160, "num_hidden_layers": 5, "num_attention_heads": 4,
                        "intermediate_size": 512, "in_channels": 64, "block_out_channels": 128,
                        "block_num_heads": 4, "num_res_blocks": 1, "micro_cond_encode_dim": 32},
        # VQ trains on 64x64 crops (4x cheaper; the nets are convolutional) and on whole
        # 128x128 images for the last steps.
        "vq_train": {"steps": 3500, "batch": 16, "lr": 4e-4, "crop": 64, "crop_full_after": 3000,
                     "disc_start": 2000, "disc_weight": 0.1},
        # Decoder fine-tuning on whole images, encoder and codebook frozen (train_vq_decoder.py).
        "vqdec_train": {"steps": 4000, "batch": 16, "lr": 2e-4},
        "tm_train": {"steps": 3500, "batch": 32, "lr": 5e-4, "text_lr": 2.5e-4},
    },
    "smoke": {
        "vocab_size": 700,
        "concepts": True,
        "text": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                 "num_attention_heads": 2, "projection_dim": 32},
        "vq": {"block_out_channels": [8, 16, 16, 32], "layers_per_block": 1, "latent_channels": 8,
               "num_vq_embeddings": 64, "norm_num_groups": 4},
        "transformer": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                        "intermediate_size": 128, "in_channels": 32, "block_out_channels": 48,
                        "block_num_heads": 2, "num_res_blocks": 1, "micro_cond_encode_dim": 8,
                        "downsample": True},
        "vq_train": {"steps": 60, "batch": 8, "lr": 1e-3, "crop": 64, "crop_full_after": 45, "disc_start": 30,
                     "disc_weight": 0.1},
        "vqdec_train": {"steps": 20, "batch": 8, "lr": 5e-4},
        "tm_train": {"steps": 60, "batch": 16, "lr": 1e-3, "text_lr": 5e-4, "tokens": 256, "canonical": 0.5,
                     "placed": 0.25, "placed_copies": 1, "region": 0.3},
    },
}


def text_config(p, vocab_size):
    t = p["text"]
    return {"architectures": ["CLIPTextModelWithProjection"], "attention_dropout": 0.0,
            "bos_token_id": 0, "eos_token_id": 2, "hidden_act": "quick_gelu",
            "hidden_size": t["hidden_size"], "initializer_factor": 1.0, "initializer_range": 0.02,
            "intermediate_size": t["intermediate_size"], "layer_norm_eps": 1e-05,
            "max_position_embeddings": 77, "model_type": "clip_text_model",
            "num_attention_heads": t["num_attention_heads"], "num_hidden_layers": t["num_hidden_layers"],
            "pad_token_id": 1, "projection_dim": t["projection_dim"], "torch_dtype": "float32",
            "transformers_version": "4.38.0.dev0", "vocab_size": vocab_size}


def vq_config(p):
    v = p["vq"]
    n = len(v["block_out_channels"])
    return {"_class_name": "VQModel", "_diffusers_version": "0.27.2", "act_fn": "silu",
            "block_out_channels": v["block_out_channels"], "down_block_types": ["DownEncoderBlock2D"] * n,
            "force_upcast": True, "in_channels": 3, "latent_channels": v["latent_channels"],
            "layers_per_block": v["layers_per_block"], "lookup_from_codebook": True,
            "mid_block_add_attention": False, "norm_num_groups": v["norm_num_groups"], "norm_type": "group",
            "num_vq_embeddings": v["num_vq_embeddings"], "out_channels": 3, "sample_size": 128 // 2 ** (n - 1),
            "scaling_factor": 0.18215, "up_block_types": ["UpDecoderBlock2D"] * n, "vq_embed_dim": None}


def token_grid(p):
    """Tokens per side at 128x128: the VQ downsamples 2^(levels-1) times."""
    return 128 // 2 ** (len(p["vq"]["block_out_channels"]) - 1)


def transformer_config(p):
    t = p["transformer"]
    codebook = p["vq"]["num_vq_embeddings"]
    vocab = (codebook + 1 + 7) // 8 * 8      # codebook + mask token, rounded up to a multiple of 8
    return {"_class_name": "UVit2DModel", "_diffusers_version": "0.27.2", "attention_dropout": 0.0,
            "block_num_heads": t["block_num_heads"], "block_out_channels": t["block_out_channels"],
            "codebook_size": codebook, "cond_embed_dim": p["text"]["projection_dim"],
            "downsample": t.get("downsample", False),
            "encoder_hidden_size": p["text"]["hidden_size"], "hidden_dropout": 0.0,
            "hidden_size": t["hidden_size"], "in_channels": t["in_channels"],
            "intermediate_size": t["intermediate_size"], "layer_norm_eps": 1e-06, "ln_elementwise_affine": True,
            "micro_cond_embed_dim": 5 * t["micro_cond_encode_dim"], "micro_cond_encode_dim": t["micro_cond_encode_dim"],
            "num_attention_heads": t["num_attention_heads"], "num_hidden_layers": t["num_hidden_layers"],
            "num_res_blocks": t["num_res_blocks"], "sample_size": token_grid(p), "upsample": t.get("downsample", False),
            "use_bias": False,
            "vocab_size": vocab}
