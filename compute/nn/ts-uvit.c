/* ts-uvit.c — U-ViT weights and the per-step forward pass. The image side is kept
 * channels-last ([B, h·w, C] tokens) so 1x1 convolutions are plain linears and channel norms
 * act on the last dimension; only the depthwise and the 2x2 resampling convolutions visit
 * NCHW. */
#include "ts-uvit-private.h"
#include "../model/ts-model-folder.h"

#include <math.h>
#include <stdarg.h>

/* ---- loading ---- */

void
ts_uvit_free (TsUvit *m)
{
  if (!m)
    return;
  ts_nn_weights_free (m->weights);
  g_free (m->down.res);
  g_free (m->down.attn);
  g_free (m->up.res);
  g_free (m->up.attn);
  g_free (m->layers);
  g_free (m);
}

/* Norm weights exist only with ln_elementwise_affine; NULL (no scaling) otherwise. */
static TsTensor *
norm_weight (TsNnWeights *w, const TsUVitConfig *c, int64_t n, const char *name)
{
  return c->ln_elementwise_affine ? ts_nn_weight1 (w, n, "%s", name) : NULL;
}

/* A 1x1 convolution kernel [O, I, 1, 1], viewed as the [O, I] matrix of a linear. */
static TsTensor *
conv1x1 (TsNnWeights *w, int64_t out, int64_t in, const char *name)
{
  int64_t shape[4] = { out, in, 1, 1 };
  int64_t mat[2] = { out, in };
  TsTensor *k = ts_nn_weight (w, 4, shape, "%s", name);
  return k ? ts_nn_prepare_linear (w, ts_nn_weights_keep (w, ts_tensor_reshape (k, 2, mat))) : NULL;
}

static void
load_stage (TsNnWeights *w, const TsUVitConfig *c, const char *prefix, UvitStage *s)
{
  const int64_t ch = c->block_out_channels, hid = c->hidden_size, n = c->num_res_blocks;
  s->res = g_new0 (UvitConvNext, n);
  s->attn = g_new0 (UvitSkipFF, n);
  for (int i = 0; i < n; i++) {
    UvitConvNext *r = &s->res[i];
    g_autofree char *p = g_strdup_printf ("%s.res_blocks.%d.", prefix, i);
    int64_t dw[4] = { ch, 1, 3, 3 }, grn[4] = { 1, 1, 1, 4 * ch };
    r->depthwise = ts_nn_weight (w, 4, dw, "%sdepthwise.weight", p);
    r->norm = c->ln_elementwise_affine ? ts_nn_weight1 (w, ch, "%snorm.weight", p) : NULL;
    r->lin1 = ts_nn_linear_weight (w, 4 * ch, ch, "%schannelwise_linear_1.weight", p);
    r->gamma = ts_nn_weight (w, 4, grn, "%schannelwise_norm.gamma", p);
    r->beta = ts_nn_weight (w, 4, grn, "%schannelwise_norm.beta", p);
    r->lin2 = ts_nn_linear_weight (w, ch, 4 * ch, "%schannelwise_linear_2.weight", p);
    r->cond_mapper = ts_nn_linear_weight (w, 2 * ch, hid, "%scond_embeds_mapper.weight", p);

    UvitSkipFF *a = &s->attn[i];
    g_autofree char *q = g_strdup_printf ("%s.attention_blocks.%d.", prefix, i);
    if (hid != ch)
      a->kv_mapper = ts_nn_linear_weight (w, ch, hid, "%skv_mapper.weight", q);
    for (int j = 0; j < 2; j++) {
      /* These RMSNorms are built with the default affine weight, whatever the config says. */
      a->norm[j] = ts_nn_weight1 (w, ch, "%snorm%d.weight", q, j + 1);
      a->q[j] = ts_nn_linear_weight (w, ch, ch, "%sattn%d.to_q.weight", q, j + 1);
      a->k[j] = ts_nn_linear_weight (w, ch, ch, "%sattn%d.to_k.weight", q, j + 1);
      a->v[j] = ts_nn_linear_weight (w, ch, ch, "%sattn%d.to_v.weight", q, j + 1);
      a->o[j] = ts_nn_linear_weight (w, ch, ch, "%sattn%d.to_out.0.weight", q, j + 1);
    }
  }
}

static void
load_layer (TsNnWeights *w, const TsUVitConfig *c, int i, UvitLayer *l)
{
  const int64_t h = c->hidden_size, f = c->intermediate_size;
  for (int j = 0; j < 3; j++) {
    l->ada_linear[j] = ts_nn_linear_weight (w, 2 * h, h, "transformer_layers.%d.norm%d.linear.weight",
                                      i, j + 1);
    if (c->ln_elementwise_affine)
      l->ada_norm[j] = ts_nn_weight1 (w, h, "transformer_layers.%d.norm%d.norm.weight", i, j + 1);
  }
  for (int j = 0; j < 2; j++) {
    l->q[j] = ts_nn_linear_weight (w, h, h, "transformer_layers.%d.attn%d.to_q.weight", i, j + 1);
    l->k[j] = ts_nn_linear_weight (w, h, h, "transformer_layers.%d.attn%d.to_k.weight", i, j + 1);
    l->v[j] = ts_nn_linear_weight (w, h, h, "transformer_layers.%d.attn%d.to_v.weight", i, j + 1);
    l->o[j] = ts_nn_linear_weight (w, h, h, "transformer_layers.%d.attn%d.to_out.0.weight", i, j + 1);
  }
  l->ff_in = ts_nn_linear_weight (w, 2 * f, h, "transformer_layers.%d.ff.net.0.proj.weight", i);
  l->ff_out = ts_nn_linear_weight (w, h, f, "transformer_layers.%d.ff.net.2.weight", i);
}

static void
load_top (TsNnWeights *w, TsUvit *m)
{
  const TsUVitConfig *c = &m->cfg;
  const int64_t h = c->hidden_size, ch = c->block_out_channels, in = c->in_channels;
  m->encoder_proj = ts_nn_linear_weight (w, h, c->encoder_hidden_size, "encoder_proj.weight");
  m->encoder_proj_norm = norm_weight (w, c, h, "encoder_proj_layer_norm.weight");
  m->cond_linear_1 = ts_nn_linear_weight (w, h, c->cond_embed_dim + c->micro_cond_embed_dim,
                                    "cond_embed.linear_1.weight");
  m->cond_linear_2 = ts_nn_linear_weight (w, h, h, "cond_embed.linear_2.weight");
  m->embed_table = ts_nn_weight2 (w, c->vocab_size, in, "embed.embeddings.weight");
  m->embed_norm = norm_weight (w, c, in, "embed.layer_norm.weight");
  m->embed_conv = conv1x1 (w, ch, in, "embed.conv.weight");
  m->to_hidden_norm = norm_weight (w, c, ch, "project_to_hidden_norm.weight");
  m->to_hidden = ts_nn_linear_weight (w, h, ch, "project_to_hidden.weight");
  m->from_hidden_norm = norm_weight (w, c, h, "project_from_hidden_norm.weight");
  m->from_hidden = ts_nn_linear_weight (w, ch, h, "project_from_hidden.weight");
  m->mlm_conv1 = conv1x1 (w, in, ch, "mlm_layer.conv1.weight");
  m->mlm_norm = norm_weight (w, c, in, "mlm_layer.layer_norm.weight");
  m->mlm_conv2 = conv1x1 (w, c->codebook_size, in, "mlm_layer.conv2.weight");
  int64_t k2[4] = { ch, ch, 2, 2 };
  if (c->downsample) {
    m->down.down_norm = norm_weight (w, c, ch, "down_block.downsample.norm.weight");
    m->down.down_conv = ts_nn_conv_weight (w, k2, 1, "down_block.downsample.conv.weight");
  }
  if (c->upsample) {
    m->up.up_norm = norm_weight (w, c, ch, "up_block.upsample.norm.weight");
    m->up.up_conv = ts_nn_conv_weight (w, k2, 1, "up_block.upsample.conv.weight");
  }
}

/* Every weight, by name and shape: the one declaration (ts_uvit_weight_specs runs it in
 * collect mode). */
static void
load_weights (TsNnWeights *w, TsUvit *m)
{
  load_top (w, m);
  load_stage (w, &m->cfg, "down_block", &m->down);
  load_stage (w, &m->cfg, "up_block", &m->up);
  m->layers = g_new0 (UvitLayer, m->cfg.num_hidden_layers);
  for (int i = 0; i < m->cfg.num_hidden_layers; i++)
    load_layer (w, &m->cfg, i, &m->layers[i]);
}

TsUvit *
ts_uvit_new (TsBackend *be, const TsUVitConfig *config, TsWeights *weights,
             TsDType matrix_dtype, GError **error)
{
  if (!ts_uvit_config_check_supported (config, "transformer", error))
    return NULL;
  g_autoptr (TsUvit) m = g_new0 (TsUvit, 1);
  m->be = be;
  m->cfg = *config;
  m->weights = ts_nn_weights_new (be, weights, "transformer", matrix_dtype);
  m->precision = ts_weights_precision (weights);
  load_weights (m->weights, m);
  if (!ts_nn_weights_finish (m->weights, NULL, error))
    return NULL;
  m->weight_bytes = ts_nn_weights_bytes (m->weights);
  return g_steal_pointer (&m);
}

GPtrArray *
ts_uvit_weight_specs (const TsUVitConfig *config)
{
  g_autoptr (TsUvit) m = g_new0 (TsUvit, 1);
  m->cfg = *config;
  m->weights = ts_nn_weights_new_collect ("transformer");
  load_weights (m->weights, m);
  return ts_nn_weights_take_specs (m->weights);
}

TsUvit *
ts_uvit_new_from_folder (TsBackend *be, const char *dir, TsDType matrix_dtype, GError **error)
{
  TsUVitConfig cfg;
  g_autoptr (TsWeights) weights = ts_uvit_open (dir, NULL, &cfg, error);
  return weights ? ts_uvit_new (be, &cfg, weights, matrix_dtype, error) : NULL;
}

const TsUVitConfig *
ts_uvit_config (const TsUvit *m)
{
  return &m->cfg;
}

guint64
ts_uvit_weight_bytes (const TsUvit *m)
{
  return m->weight_bytes;
}

int
ts_uvit_mask_token_id (const TsUvit *m)
{
  return (int) m->cfg.vocab_size - 1;
}

void
ts_uvit_set_tap (TsUvit *m, TsNnTapFunc tap, gpointer user_data)
{
  m->tap = tap;
  m->tap_data = user_data;
}

void
ts_uvit_tap (TsUvit *m, TsTensor *t, const char *fmt, ...)
{
  if (!m->tap || !t)
    return;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *name = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  m->tap (name, t, m->tap_data);
}

TsTensor *
ts_uvit_modulate_consume (TsBackend *be, TsTensor *x, const UvitMod *mod)
{
  x = ts_nn_replace (x, ts_mul (be, x, mod->scale1p));
  return ts_nn_replace (x, ts_add (be, x, mod->shift));
}

/* ---- blocks ---- */

/* softmax(q·kᵀ/√d)·v through the output projection; q_in [B, N, D], k/v are head views. The
 * products at the precision the transformer's weights were loaded at. */
static TsTensor *
attend (const TsUvit *m, TsTensor *q_in, TsTensor *q_w, TsTensor *k, TsTensor *v, TsTensor *o_w,
        int heads)
{
  TsBackend *be = m->be;
  int64_t dim = q_w->shape[0];
  float scale = 1.0f / sqrtf ((float) (dim / heads));
  g_autoptr (TsTensor) q = ts_nn_heads_consume (ts_linear (be, q_in, q_w, NULL), heads);
  TsTensor *a = ts_nn_merge_heads_consume (ts_attention_at (be, q, k, v, scale, FALSE,
                                                            m->precision));
  return ts_nn_linear_consume (be, a, o_w);
}

/* ConvNeXt block on tokens x [B, h·w, C]; consumes x. */
static TsTensor *
convnext (TsUvit *m, const UvitConvNext *r, const UvitMod *mod, TsTensor *x, int64_t h,
          int64_t w)
{
  TsBackend *be = m->be;
  int64_t c = m->cfg.block_out_channels;
  TsConv2dParams dw = { .stride_y = 1, .stride_x = 1, .pad_top = 1, .pad_left = 1,
                        .pad_bottom = 1, .pad_right = 1, .groups = (int) c };
  TsTensor *y = ts_nn_tokens_to_nchw (be, x, h, w);
  y = ts_nn_replace (y, ts_conv2d (be, y, r->depthwise, NULL, &dw));
  y = ts_nn_replace (y, ts_nn_nchw_to_tokens (be, y));
  y = ts_nn_replace (y, ts_rms_norm (be, y, r->norm, (float) m->cfg.layer_norm_eps));
  y = ts_nn_replace (y, ts_linear (be, y, r->lin1, NULL));
  y = ts_nn_replace (y, ts_gelu (be, y));
  if (y) {
    int64_t nhwc[4] = { y->shape[0], h, w, 4 * c };
    y = ts_nn_replace (y, ts_tensor_reshape (y, 4, nhwc));
  }
  y = ts_nn_replace (y, ts_global_response_norm (be, y, r->gamma, r->beta, 1e-6f));
  if (y) {
    int64_t tok[3] = { y->shape[0], h * w, 4 * c };
    y = ts_nn_replace (y, ts_tensor_reshape (y, 3, tok));
  }
  y = ts_nn_linear_consume (be, y, r->lin2);
  y = ts_nn_add_consume (be, y, x);
  return ts_uvit_modulate_consume (be, y, mod);
}

/* Two cross-attentions to the text; consumes x. */
static TsTensor *
skip_ff (TsUvit *m, const UvitSkipFF *a, const UvitKV *kv, TsTensor *x)
{
  TsBackend *be = m->be;
  for (int j = 0; j < 2; j++) {
    g_autoptr (TsTensor) n = ts_rms_norm (be, x, a->norm[j], 1e-6f);
    TsTensor *o = attend (m, n, a->q[j], kv[j].k, kv[j].v, a->o[j], (int) m->cfg.block_num_heads);
    x = ts_nn_add_consume (be, x, o);
  }
  return x;
}

/* The adaptive norm of a transformer layer: norm(x)·(1 + scale) + shift. */
static TsTensor *
ada_norm (TsUvit *m, const UvitLayer *l, const UvitMod *mod, int j, TsTensor *x)
{
  TsBackend *be = m->be;
  float eps = (float) m->cfg.layer_norm_eps;
  TsTensor *n = j < 2 ? ts_rms_norm (be, x, l->ada_norm[j], eps)
                      : ts_layer_norm (be, x, l->ada_norm[j], NULL, eps);
  return ts_uvit_modulate_consume (be, n, &mod[j]);
}

/* One transformer layer; consumes x. */
static TsTensor *
layer_forward (TsUvit *m, const TsUvitCond *cond, int i, TsTensor *x)
{
  TsBackend *be = m->be;
  const UvitLayer *l = &m->layers[i];
  const UvitMod *mod = &cond->layer_mod[3 * i];
  int heads = (int) m->cfg.num_attention_heads;

  TsTensor *n = ada_norm (m, l, mod, 0, x);
  g_autoptr (TsTensor) k = ts_nn_heads_consume (ts_linear (be, n, l->k[0], NULL), heads);
  g_autoptr (TsTensor) v = ts_nn_heads_consume (ts_linear (be, n, l->v[0], NULL), heads);
  TsTensor *o = attend (m, n, l->q[0], k, v, l->o[0], heads);
  ts_tensor_unref (n);
  x = ts_nn_add_consume (be, x, o);

  n = ada_norm (m, l, mod, 1, x);
  o = attend (m, n, l->q[1], cond->layer_kv[i].k, cond->layer_kv[i].v, l->o[1], heads);
  ts_tensor_unref (n);
  x = ts_nn_add_consume (be, x, o);

  n = ada_norm (m, l, mod, 2, x);
  n = ts_nn_linear_consume (be, n, l->ff_in);
  n = ts_nn_replace (n, ts_geglu (be, n));
  n = ts_nn_linear_consume (be, n, l->ff_out);
  return ts_nn_add_consume (be, x, n);
}

/* RMSNorm over channels, then a 2x2 stride-2 convolution; the input is padded by one row and
 * column at the bottom and right first, as diffusers does. Consumes x; updates *h, *w. */
static TsTensor *
downsample (TsUvit *m, TsTensor *x, int64_t *h, int64_t *w)
{
  TsBackend *be = m->be;
  TsConv2dParams p = { .stride_y = 2, .stride_x = 2, .pad_bottom = 1, .pad_right = 1,
                       .groups = 1 };
  x = ts_nn_replace (x, ts_rms_norm (be, x, m->down.down_norm, (float) m->cfg.layer_norm_eps));
  x = ts_nn_replace (x, ts_nn_tokens_to_nchw (be, x, *h, *w));
  x = ts_nn_replace (x, ts_conv2d (be, x, m->down.down_conv, NULL, &p));
  *h = (*h + 1 - 2) / 2 + 1;
  *w = (*w + 1 - 2) / 2 + 1;
  return ts_nn_replace (x, ts_nn_nchw_to_tokens (be, x));
}

static TsTensor *
upsample (TsUvit *m, TsTensor *x, int64_t *h, int64_t *w)
{
  TsBackend *be = m->be;
  x = ts_nn_replace (x, ts_rms_norm (be, x, m->up.up_norm, (float) m->cfg.layer_norm_eps));
  x = ts_nn_replace (x, ts_nn_tokens_to_nchw (be, x, *h, *w));
  x = ts_nn_replace (x, ts_conv_transpose_2x2 (be, x, m->up.up_conv, NULL));
  *h *= 2;
  *w *= 2;
  return ts_nn_replace (x, ts_nn_nchw_to_tokens (be, x));
}

static TsTensor *
stage_forward (TsUvit *m, const UvitStage *s, const char *name, const UvitMod *mod,
               const UvitKV *kv, TsTensor *x, int64_t h, int64_t w)
{
  for (int i = 0; i < m->cfg.num_res_blocks; i++) {
    x = convnext (m, &s->res[i], &mod[i], x, h, w);
    ts_uvit_tap (m, x, "%s.res_blocks.%d", name, i);
    x = skip_ff (m, &s->attn[i], &kv[2 * i], x);
    ts_uvit_tap (m, x, "%s.attention_blocks.%d", name, i);
  }
  return x;
}

static gboolean
check_ids (TsUvit *m, const TsUvitCond *cond, const int32_t *ids, int h, int w, GError **error)
{
  const TsUVitConfig *c = &m->cfg;
  if (cond->model != m) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "transformer: the prompt context "
                 "was made for another model");
    return FALSE;
  }
  if (h < 1 || w < 1 || h > 4096 || w > 4096 ||
      (c->downsample && (h % 2 || w % 2))) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "transformer: a %dx%d token grid "
                 "is not supported%s", h, w, c->downsample ? " (this model needs even sizes)" : "");
    return FALSE;
  }
  int64_t n = (int64_t) cond->batch * h * w;
  for (int64_t i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= c->vocab_size) {
      g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "transformer: token id %d at "
                   "index %" G_GINT64_FORMAT " is outside [0, %d)", ids[i], i, (int) c->vocab_size);
      return FALSE;
    }
  }
  return TRUE;
}

TsTensor *
ts_uvit_forward (TsUvit *m, const TsUvitCond *cond, const int32_t *ids, int h, int w,
                 GError **error)
{
  TsBackend *be = m->be;
  const TsUVitConfig *c = &m->cfg;
  float eps = (float) c->layer_norm_eps;
  g_return_val_if_fail (cond != NULL && ids != NULL, NULL);
  if (!check_ids (m, cond, ids, h, w, error))
    return NULL;
  int64_t id_shape[2] = { cond->batch, (int64_t) h * w };
  g_autoptr (TsTensor) id_t = ts_tensor_new_from_data (be, TS_DTYPE_I32, 2, id_shape, ids);
  TsTensor *x = ts_embedding (be, m->embed_table, id_t);
  x = ts_nn_replace (x, ts_rms_norm (be, x, m->embed_norm, eps));
  x = ts_nn_linear_consume (be, x, m->embed_conv);
  ts_uvit_tap (m, x, "embed");

  int64_t gh = h, gw = w;
  if (c->downsample) {
    x = downsample (m, x, &gh, &gw);
    ts_uvit_tap (m, x, "down_block.downsample");
  }
  x = stage_forward (m, &m->down, "down_block", cond->down_mod, cond->down_kv, x, gh, gw);
  ts_uvit_tap (m, x, "down_block");

  x = ts_nn_replace (x, ts_rms_norm (be, x, m->to_hidden_norm, eps));
  x = ts_nn_linear_consume (be, x, m->to_hidden);
  ts_uvit_tap (m, x, "project_to_hidden");
  for (int i = 0; i < c->num_hidden_layers; i++) {
    x = layer_forward (m, cond, i, x);
    ts_uvit_tap (m, x, "transformer_layers.%d", i);
  }
  x = ts_nn_replace (x, ts_rms_norm (be, x, m->from_hidden_norm, eps));
  x = ts_nn_linear_consume (be, x, m->from_hidden);
  ts_uvit_tap (m, x, "project_from_hidden");

  x = stage_forward (m, &m->up, "up_block", cond->up_mod, cond->up_kv, x, gh, gw);
  if (c->upsample)
    x = upsample (m, x, &gh, &gw);
  ts_uvit_tap (m, x, "up_block");

  x = ts_nn_linear_consume (be, x, m->mlm_conv1);
  x = ts_nn_replace (x, ts_rms_norm (be, x, m->mlm_norm, eps));
  x = ts_nn_linear_consume (be, x, m->mlm_conv2);
  if (x) {
    int64_t shape[4] = { cond->batch, h, w, c->codebook_size };
    x = ts_nn_replace (x, ts_tensor_reshape (x, 4, shape));
  }
  return ts_nn_finish (be, x, "transformer", error);
}

TsTensor *
ts_uvit_transformer_layer (TsUvit *m, const TsUvitCond *cond, int layer, TsTensor *x,
                           GError **error)
{
  if (cond->model != m || layer < 0 || layer >= m->cfg.num_hidden_layers || !x || x->ndim != 3 ||
      x->shape[0] != cond->batch || x->shape[2] != m->cfg.hidden_size) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "transformer layer %d: bad input",
                 layer);
    return NULL;
  }
  return ts_nn_finish (m->be, layer_forward (m, cond, layer, ts_tensor_ref (x)),
                       "transformer layer", error);
}
