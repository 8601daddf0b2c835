/* ts-uvit-private.h — the U-ViT's weights and per-prompt context, shared by ts-uvit.c (loading,
 * the per-step forward pass) and ts-uvit-cond.c (the per-prompt precomputation). */
#pragma once

#include "ts-uvit.h"

G_BEGIN_DECLS

/* ConvNeXt block: depthwise 3×3, RMSNorm, Linear C→4C, GELU, GRN, Linear 4C→C, residual, then
 * modulation by the conditioning vector. */
typedef struct {
  TsTensor *depthwise, *norm, *lin1, *gamma, *beta, *lin2, *cond_mapper;
} UvitConvNext;

/* Two text cross-attentions (no self-attention, no feed-forward). */
typedef struct {
  TsTensor *kv_mapper;  /* NULL when hidden_size == block_out_channels */
  TsTensor *norm[2], *q[2], *k[2], *v[2], *o[2];
} UvitSkipFF;

/* Transformer layer: adaptive RMSNorm → self-attention, adaptive RMSNorm → cross-attention,
 * adaptive LayerNorm → GEGLU feed-forward. */
typedef struct {
  TsTensor *ada_linear[3], *ada_norm[3];
  TsTensor *q[2], *k[2], *v[2], *o[2];
  TsTensor *ff_in, *ff_out;
} UvitLayer;

typedef struct {
  TsTensor   *down_norm, *down_conv, *up_norm, *up_conv;  /* NULL without resampling */
  UvitConvNext *res;      /* num_res_blocks */
  UvitSkipFF   *attn;
} UvitStage;

struct _TsUvit {
  TsBackend     *be;
  TsUVitConfig   cfg;
  TsTensor *encoder_proj, *encoder_proj_norm, *cond_linear_1, *cond_linear_2;
  TsTensor *embed_table, *embed_norm, *embed_conv;
  UvitStage  down, up;
  TsTensor *to_hidden_norm, *to_hidden, *from_hidden_norm, *from_hidden;
  UvitLayer *layers;
  TsTensor *mlm_conv1, *mlm_norm, *mlm_conv2;
  TsNnWeights *weights;              /* owns every tensor above */
  TsPrecision precision;             /* its weights' (ts_weights_set_precision): attention's too */
  guint64   weight_bytes;
  TsNnTapFunc tap;
  gpointer  tap_data;
};

/* A modulation: x·(1 + scale) + shift, both [B, 1, D] so they broadcast over tokens. */
typedef struct {
  TsTensor *scale1p, *shift;
} UvitMod;

/* Keys and values of one cross-attention, as [B, L, heads, head_dim] views. */
typedef struct {
  TsTensor *k, *v;
} UvitKV;

struct _TsUvitCond {
  const TsUvit *model;               /* the model it was made for (and sized by) */
  int      batch, n_res, n_layers;
  UvitMod *down_mod, *up_mod;        /* per ConvNeXt block */
  UvitKV  *down_kv, *up_kv;          /* [block][attention 0/1] → 2 per block */
  UvitMod *layer_mod;                /* [layer][norm 0..2] → 3 per layer */
  UvitKV  *layer_kv;                 /* per layer (attn2) */
};

void ts_uvit_tap (TsUvit *m, TsTensor *t, const char *fmt, ...) G_GNUC_PRINTF (3, 4);
/* x·(1 + scale) + shift; consumes x. */
TsTensor *ts_uvit_modulate_consume (TsBackend *be, TsTensor *x, const UvitMod *mod);

G_END_DECLS
