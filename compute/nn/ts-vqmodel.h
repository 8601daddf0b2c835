/* ts-vqmodel.h — aMUSEd's VQ-GAN (diffusers VQModel): images ⇄ token ids.
 *
 * encode: conv encoder (16× downsampling for 5 levels) + quant_conv → latents; quantize: the
 * nearest codebook entry per latent pixel → token ids. decode: codebook lookup +
 * post_quant_conv + conv decoder → pixels. Weights run in f32 (upstream forces the VQ to f32
 * too) unless its TsWeights asked for bf16/int8 (ts_weights_set_precision): then, on the CPU,
 * its linear layers and its GEMM-shaped convolutions multiply packed weights
 * (docs/cpu-precision.md). Images are NCHW float in [0, 1]. */
#pragma once

#include "ts-nn-util.h"

G_BEGIN_DECLS

typedef struct _TsVqModel TsVqModel;

TsVqModel *ts_vqmodel_new (TsBackend *be, const TsVQConfig *config, TsWeights *weights,
                           GError **error);
/* A diffusers component folder: config.json + diffusion_pytorch_model[.fp16].safetensors. */
TsVqModel *ts_vqmodel_new_from_folder (TsBackend *be, const char *dir, GError **error);
void       ts_vqmodel_free (TsVqModel *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsVqModel, ts_vqmodel_free)

const TsVQConfig *ts_vqmodel_config (const TsVqModel *m);
guint64 ts_vqmodel_weight_bytes (const TsVqModel *m);
/* Pixels per token along each axis: 2^(levels − 1) = 16 for aMUSEd. */
int     ts_vqmodel_scale (const TsVqModel *m);
/* Intermediates: "enc.down_blocks.N", "enc.mid_block", "enc.out" (before quant_conv),
 * "dec.post_quant_conv", "dec.conv_in", "dec.mid_block", "dec.up_blocks.N",
 * "dec.up_blocks.N.resnets.M". */
void    ts_vqmodel_set_tap (TsVqModel *m, TsNnTapFunc tap, gpointer user_data);

/* image: f32 [B, in_channels, H, W] with H, W positive multiples of the scale → latents
 * f32 [B, vq_embed_dim, H/scale, W/scale]. */
TsTensor *ts_vqmodel_encode (TsVqModel *m, TsTensor *image, GError **error);
/* latents [B, D, h, w] → token ids i32 [B, h, w] (nearest code, lowest index on ties). */
TsTensor *ts_vqmodel_quantize (TsVqModel *m, TsTensor *latents, GError **error);
/* Host pixels [batch, in_channels, height, width] → host ids [batch, height/s, width/s]. */
gboolean  ts_vqmodel_encode_ids (TsVqModel *m, const float *pixels, int batch, int height,
                                 int width, int32_t *ids, GError **error);

/* Host ids [batch, h, w] in [0, num_vq_embeddings) → f32 [batch, out_channels, h·s, w·s],
 * not clamped. */
TsTensor *ts_vqmodel_decode (TsVqModel *m, const int32_t *ids, int batch, int h, int w,
                             GError **error);
/* The same, read back to the host and clamped to [0, 1]; g_free the result. */
float    *ts_vqmodel_decode_pixels (TsVqModel *m, const int32_t *ids, int batch, int h, int w,
                                    GError **error);

/* One decoder up block alone (tests): x [B, C_in, H, W] → [B, C_out, 2H, 2W] (or H×W for the
 * last level). Does not consume x. */
TsTensor *ts_vqmodel_decoder_level (TsVqModel *m, int level, TsTensor *x, GError **error);

G_END_DECLS
