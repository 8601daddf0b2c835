/* ts-vqmodel.c — VQ-GAN encoder, quantizer and decoder (all NCHW, f32). */
#include "ts-vqmodel.h"
#include "../model/ts-model-folder.h"

#include <stdarg.h>

#define GN_EPS 1e-6f

typedef struct {
  TsTensor *norm1_w, *norm1_b, *conv1_w, *conv1_b, *norm2_w, *norm2_b, *conv2_w, *conv2_b;
  TsTensor *shortcut_w, *shortcut_b;  /* 1x1, when the block changes the channel count */
} VqResnet;

typedef struct {
  int       n_resnets;
  VqResnet *resnets;
  TsTensor *resample_w, *resample_b;  /* encoder: downsampler; decoder: upsampler; or NULL */
} VqLevel;

typedef struct {
  TsTensor *conv_in_w, *conv_in_b;
  VqLevel   levels[TS_VQ_MAX_BLOCKS];
  VqResnet  mid[2];
  TsTensor *norm_out_w, *norm_out_b, *conv_out_w, *conv_out_b;
} VqCoder;

struct _TsVqModel {
  TsBackend   *be;
  TsVQConfig cfg;
  VqCoder      enc, dec;
  TsTensor    *quant_conv_w, *quant_conv_b, *post_quant_w, *post_quant_b, *codebook;
  TsNnWeights *weights;       /* owns every tensor above */
  guint64      weight_bytes;
  TsNnTapFunc  tap;
  gpointer     tap_data;
};

/* ---- loading ---- */

void
ts_vqmodel_free (TsVqModel *m)
{
  if (!m)
    return;
  ts_nn_weights_free (m->weights);
  for (int i = 0; i < TS_VQ_MAX_BLOCKS; i++) {
    g_free (m->enc.levels[i].resnets);
    g_free (m->dec.levels[i].resnets);
  }
  g_free (m);
}

/* A conv kernel [out, in, k, k] and its bias [out]. */
static void
load_conv (TsNnWeights *w, int64_t out, int64_t in, int k, const char *prefix, TsTensor **weight,
           TsTensor **bias)
{
  int64_t shape[4] = { out, in, k, k };
  *weight = ts_nn_conv_weight (w, shape, 1, "%s.weight", prefix);
  *bias = ts_nn_weight1 (w, out, "%s.bias", prefix);
}

static void
load_norm (TsNnWeights *w, int64_t c, const char *prefix, TsTensor **weight, TsTensor **bias)
{
  *weight = ts_nn_weight1 (w, c, "%s.weight", prefix);
  *bias = ts_nn_weight1 (w, c, "%s.bias", prefix);
}

static void
load_resnet (TsNnWeights *w, int64_t in, int64_t out, const char *prefix, VqResnet *r)
{
  g_autofree char *n1 = g_strconcat (prefix, ".norm1", NULL);
  g_autofree char *c1 = g_strconcat (prefix, ".conv1", NULL);
  g_autofree char *n2 = g_strconcat (prefix, ".norm2", NULL);
  g_autofree char *c2 = g_strconcat (prefix, ".conv2", NULL);
  load_norm (w, in, n1, &r->norm1_w, &r->norm1_b);
  load_conv (w, out, in, 3, c1, &r->conv1_w, &r->conv1_b);
  load_norm (w, out, n2, &r->norm2_w, &r->norm2_b);
  load_conv (w, out, out, 3, c2, &r->conv2_w, &r->conv2_b);
  if (in != out) {
    g_autofree char *sc = g_strconcat (prefix, ".conv_shortcut", NULL);
    load_conv (w, out, in, 1, sc, &r->shortcut_w, &r->shortcut_b);
  }
}

static void
load_level (TsNnWeights *w, const char *prefix, int n_resnets, int64_t in, int64_t out,
            gboolean resample, const char *resampler, VqLevel *l)
{
  l->n_resnets = n_resnets;
  l->resnets = g_new0 (VqResnet, n_resnets);
  for (int j = 0; j < n_resnets; j++) {
    g_autofree char *p = g_strdup_printf ("%s.resnets.%d", prefix, j);
    load_resnet (w, j ? out : in, out, p, &l->resnets[j]);
  }
  if (resample) {
    g_autofree char *p = g_strdup_printf ("%s.%s.0.conv", prefix, resampler);
    load_conv (w, out, out, 3, p, &l->resample_w, &l->resample_b);
  }
}

static void
load_mid (TsNnWeights *w, const char *coder, int64_t ch, VqResnet *mid)
{
  for (int j = 0; j < 2; j++) {
    g_autofree char *p = g_strdup_printf ("%s.mid_block.resnets.%d", coder, j);
    load_resnet (w, ch, ch, p, &mid[j]);
  }
}

static void
load_encoder (TsNnWeights *w, const TsVQConfig *c, VqCoder *e)
{
  const int64_t *boc = c->block_out_channels;
  int n = c->n_blocks;
  load_conv (w, boc[0], c->in_channels, 3, "encoder.conv_in", &e->conv_in_w, &e->conv_in_b);
  for (int i = 0; i < n; i++) {
    g_autofree char *p = g_strdup_printf ("encoder.down_blocks.%d", i);
    load_level (w, p, c->layers_per_block, boc[i ? i - 1 : 0], boc[i], i < n - 1,
                "downsamplers", &e->levels[i]);
  }
  load_mid (w, "encoder", boc[n - 1], e->mid);
  load_norm (w, boc[n - 1], "encoder.conv_norm_out", &e->norm_out_w, &e->norm_out_b);
  load_conv (w, c->latent_channels, boc[n - 1], 3, "encoder.conv_out", &e->conv_out_w,
             &e->conv_out_b);
}

static void
load_decoder (TsNnWeights *w, const TsVQConfig *c, VqCoder *d)
{
  const int64_t *boc = c->block_out_channels;
  int n = c->n_blocks;
  load_conv (w, boc[n - 1], c->latent_channels, 3, "decoder.conv_in", &d->conv_in_w,
             &d->conv_in_b);
  load_mid (w, "decoder", boc[n - 1], d->mid);
  for (int i = 0; i < n; i++) {
    /* Up blocks walk the channel list backwards. */
    int64_t out = boc[n - 1 - i], in = boc[n - 1 - (i ? i - 1 : 0)];
    g_autofree char *p = g_strdup_printf ("decoder.up_blocks.%d", i);
    load_level (w, p, c->layers_per_block + 1, in, out, i < n - 1, "upsamplers", &d->levels[i]);
  }
  load_norm (w, boc[0], "decoder.conv_norm_out", &d->norm_out_w, &d->norm_out_b);
  load_conv (w, c->out_channels, boc[0], 3, "decoder.conv_out", &d->conv_out_w, &d->conv_out_b);
}

/* Every weight, by name and shape: the one declaration (ts_vq_weight_specs runs it in
 * collect mode). */
static void
load_weights (TsNnWeights *w, TsVqModel *m)
{
  const TsVQConfig *c = &m->cfg;
  /* Text-to-image never encodes: the encoder's products pack on the first encode instead of
   * costing every load (aMUSEd-256 int8: load 1.5-1.65 -> 1.27-1.32 s, peak RSS -0.19 GB). */
  ts_nn_weights_defer_packing (w, TRUE);
  load_encoder (w, c, &m->enc);
  load_conv (w, c->vq_embed_dim, c->latent_channels, 1, "quant_conv", &m->quant_conv_w,
             &m->quant_conv_b);
  ts_nn_weights_defer_packing (w, FALSE);
  m->codebook = ts_nn_weight2 (w, c->num_vq_embeddings, c->vq_embed_dim,
                               "quantize.embedding.weight");
  load_conv (w, c->latent_channels, c->vq_embed_dim, 1, "post_quant_conv", &m->post_quant_w,
             &m->post_quant_b);
  load_decoder (w, c, &m->dec);
}

TsVqModel *
ts_vqmodel_new (TsBackend *be, const TsVQConfig *config, TsWeights *weights, GError **error)
{
  if (!ts_vq_config_check_supported (config, "VQ model", error))
    return NULL;
  g_autoptr (TsVqModel) m = g_new0 (TsVqModel, 1);
  m->be = be;
  m->cfg = *config;
  m->weights = ts_nn_weights_new (be, weights, "VQ model", TS_DTYPE_F32);
  load_weights (m->weights, m);
  if (!ts_nn_weights_finish (m->weights, NULL, error))
    return NULL;
  m->weight_bytes = ts_nn_weights_bytes (m->weights);
  return g_steal_pointer (&m);
}

GPtrArray *
ts_vq_weight_specs (const TsVQConfig *config)
{
  g_autoptr (TsVqModel) m = g_new0 (TsVqModel, 1);
  m->cfg = *config;
  m->weights = ts_nn_weights_new_collect ("VQ model");
  load_weights (m->weights, m);
  return ts_nn_weights_take_specs (m->weights);
}

TsVqModel *
ts_vqmodel_new_from_folder (TsBackend *be, const char *dir, GError **error)
{
  TsVQConfig cfg;
  g_autoptr (TsWeights) weights = ts_vq_open (dir, NULL, &cfg, error);
  return weights ? ts_vqmodel_new (be, &cfg, weights, error) : NULL;
}

const TsVQConfig *
ts_vqmodel_config (const TsVqModel *m)
{
  return &m->cfg;
}

guint64
ts_vqmodel_weight_bytes (const TsVqModel *m)
{
  return m->weight_bytes;
}

int
ts_vqmodel_scale (const TsVqModel *m)
{
  return 1 << (m->cfg.n_blocks - 1);
}

void
ts_vqmodel_set_tap (TsVqModel *m, TsNnTapFunc tap, gpointer user_data)
{
  m->tap = tap;
  m->tap_data = user_data;
}

static void G_GNUC_PRINTF (3, 4)
tap (TsVqModel *m, TsTensor *t, const char *fmt, ...)
{
  if (!m->tap || !t)
    return;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *name = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  m->tap (name, t, m->tap_data);
}

/* ---- blocks ---- */

static TsTensor *
conv (TsBackend *be, TsTensor *x, TsTensor *w, TsTensor *b, int stride, int pad_lo, int pad_hi)
{
  TsConv2dParams p = { .stride_y = stride, .stride_x = stride, .pad_top = pad_lo,
                       .pad_left = pad_lo, .pad_bottom = pad_hi, .pad_right = pad_hi,
                       .groups = 1 };
  return ts_conv2d (be, x, w, b, &p);
}

/* GroupNorm → SiLU; consumes x, and overwrites it when nothing else holds it. */
static TsTensor *
norm_silu (TsVqModel *m, TsTensor *x, TsTensor *w, TsTensor *b)
{
  return ts_group_norm_silu_consume (m->be, x, (int) m->cfg.norm_num_groups, w, b, GN_EPS);
}

/* ResnetBlock2D; consumes x. Peak memory is the point of the order (at 512 px one
 * 128-channel activation is 128 MiB, and the decoder's last level starts with 256
 * channels): the shortcut is taken first, so that the first norm may overwrite x when the
 * block changes the channel count; the second norm overwrites conv1's output; each
 * intermediate is released as soon as the next exists. */
static TsTensor *
resnet (TsVqModel *m, const VqResnet *r, TsTensor *x)
{
  TsBackend *be = m->be;
  TsTensor *skip = r->shortcut_w ? conv (be, x, r->shortcut_w, r->shortcut_b, 1, 0, 0)
                                 : ts_tensor_ref (x);
  TsTensor *h = norm_silu (m, x, r->norm1_w, r->norm1_b);
  h = ts_nn_replace (h, conv (be, h, r->conv1_w, r->conv1_b, 1, 1, 1));
  h = norm_silu (m, h, r->norm2_w, r->norm2_b);
  h = ts_nn_replace (h, conv (be, h, r->conv2_w, r->conv2_b, 1, 1, 1));
  return ts_nn_add_consume (be, skip, h);
}

static TsTensor *
run_level (TsVqModel *m, const VqLevel *l, const char *name, TsTensor *x, gboolean encoder)
{
  for (int j = 0; j < l->n_resnets; j++) {
    x = resnet (m, &l->resnets[j], x);
    tap (m, x, "%s.resnets.%d", name, j);
  }
  if (!l->resample_w)
    return x;
  if (encoder) /* F.pad (0, 1, 0, 1), then a 3x3 stride-2 convolution without padding */
    return ts_nn_replace (x, conv (m->be, x, l->resample_w, l->resample_b, 2, 0, 1));
  x = ts_nn_replace (x, ts_upsample_nearest_2x (m->be, x));
  return ts_nn_replace (x, conv (m->be, x, l->resample_w, l->resample_b, 1, 1, 1));
}

static gboolean
check_size (TsVqModel *m, int64_t height, int64_t width, GError **error)
{
  int s = ts_vqmodel_scale (m);
  if (height < s || width < s || height % s || width % s || height > 16384 || width > 16384) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "VQ model: a %" G_GINT64_FORMAT "x%"
                 G_GINT64_FORMAT " image is not supported; sides must be positive multiples of "
                 "%d", width, height, s);
    return FALSE;
  }
  return TRUE;
}

TsTensor *
ts_vqmodel_encode (TsVqModel *m, TsTensor *image, GError **error)
{
  TsBackend *be = m->be;
  const TsVQConfig *c = &m->cfg;
  if (!image || image->ndim != 4 || image->shape[1] != c->in_channels) {
    g_autofree char *d = ts_tensor_describe (image);
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "VQ model: image %s is not "
                 "[B, %d, H, W]", d, (int) c->in_channels);
    return NULL;
  }
  if (!check_size (m, image->shape[2], image->shape[3], error))
    return NULL;
  TsTensor *x = conv (be, image, m->enc.conv_in_w, m->enc.conv_in_b, 1, 1, 1);
  for (int i = 0; i < c->n_blocks; i++) {
    g_autofree char *name = g_strdup_printf ("enc.down_blocks.%d", i);
    x = run_level (m, &m->enc.levels[i], name, x, TRUE);
    tap (m, x, "%s", name);
  }
  x = resnet (m, &m->enc.mid[0], x);
  x = resnet (m, &m->enc.mid[1], x);
  tap (m, x, "enc.mid_block");
  x = norm_silu (m, x, m->enc.norm_out_w, m->enc.norm_out_b);
  x = ts_nn_replace (x, conv (be, x, m->enc.conv_out_w, m->enc.conv_out_b, 1, 1, 1));
  tap (m, x, "enc.out");
  x = ts_nn_replace (x, conv (be, x, m->quant_conv_w, m->quant_conv_b, 1, 0, 0));
  return ts_nn_finish (be, x, "VQ encoder", error);
}

TsTensor *
ts_vqmodel_quantize (TsVqModel *m, TsTensor *latents, GError **error)
{
  const TsVQConfig *c = &m->cfg;
  if (!latents || latents->ndim != 4 || latents->shape[1] != c->vq_embed_dim) {
    g_autofree char *d = ts_tensor_describe (latents);
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "VQ model: latents %s are not "
                 "[B, %d, h, w]", d, (int) c->vq_embed_dim);
    return NULL;
  }
  int64_t b = latents->shape[0], h = latents->shape[2], w = latents->shape[3];
  int64_t flat[2] = { b * h * w, c->vq_embed_dim }, grid[3] = { b, h, w };
  TsTensor *x = ts_nn_nchw_to_tokens (m->be, latents);
  x = ts_nn_replace (x, ts_tensor_reshape (x, 2, flat));
  x = ts_nn_replace (x, ts_nearest_code (m->be, x, m->codebook));
  x = ts_nn_replace (x, ts_tensor_reshape (x, 3, grid));
  return ts_nn_finish (m->be, x, "VQ quantizer", error);
}

gboolean
ts_vqmodel_encode_ids (TsVqModel *m, const float *pixels, int batch, int height, int width,
                       int32_t *ids, GError **error)
{
  g_return_val_if_fail (pixels != NULL && ids != NULL, FALSE);
  if (batch < 1 || !check_size (m, height, width, error)) {
    if (batch < 1)
      g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "VQ model: empty batch");
    return FALSE;
  }
  int64_t shape[4] = { batch, m->cfg.in_channels, height, width };
  g_autoptr (TsTensor) image = ts_tensor_new_f32 (m->be, 4, shape, pixels);
  if (!ts_nn_check (m->be, "VQ encoder", error))
    return FALSE;
  g_autoptr (TsTensor) latents = ts_vqmodel_encode (m, image, error);
  g_autoptr (TsTensor) tokens = latents ? ts_vqmodel_quantize (m, latents, error) : NULL;
  if (!tokens)
    return FALSE;
  return ts_tensor_read (tokens, ids, ts_tensor_nbytes (tokens), error);
}

TsTensor *
ts_vqmodel_decode (TsVqModel *m, const int32_t *ids, int batch, int h, int w, GError **error)
{
  TsBackend *be = m->be;
  const TsVQConfig *c = &m->cfg;
  int s = ts_vqmodel_scale (m);
  g_return_val_if_fail (ids != NULL, NULL);
  if (batch < 1 || h < 1 || w < 1 || !check_size (m, (int64_t) h * s, (int64_t) w * s, error)) {
    if (error && !*error)
      g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "VQ model: cannot decode a "
                   "%dx%dx%d token grid", batch, h, w);
    return NULL;
  }
  for (int64_t i = 0; i < (int64_t) batch * h * w; i++) {
    if (ids[i] < 0 || ids[i] >= c->num_vq_embeddings) {
      g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "VQ model: token id %d at index %"
                   G_GINT64_FORMAT " is outside the codebook [0, %d)", ids[i], i,
                   (int) c->num_vq_embeddings);
      return NULL;
    }
  }
  int64_t id_shape[2] = { batch, (int64_t) h * w };
  g_autoptr (TsTensor) id_t = ts_tensor_new_from_data (be, TS_DTYPE_I32, 2, id_shape, ids);
  TsTensor *x = ts_embedding (be, m->codebook, id_t);
  x = ts_nn_replace (x, ts_nn_tokens_to_nchw (be, x, h, w));
  x = ts_nn_replace (x, conv (be, x, m->post_quant_w, m->post_quant_b, 1, 0, 0));
  tap (m, x, "dec.post_quant_conv");
  x = ts_nn_replace (x, conv (be, x, m->dec.conv_in_w, m->dec.conv_in_b, 1, 1, 1));
  tap (m, x, "dec.conv_in");
  x = resnet (m, &m->dec.mid[0], x);
  x = resnet (m, &m->dec.mid[1], x);
  tap (m, x, "dec.mid_block");
  for (int i = 0; i < c->n_blocks; i++) {
    g_autofree char *name = g_strdup_printf ("dec.up_blocks.%d", i);
    x = run_level (m, &m->dec.levels[i], name, x, FALSE);
    tap (m, x, "%s", name);
  }
  x = norm_silu (m, x, m->dec.norm_out_w, m->dec.norm_out_b);
  x = ts_nn_replace (x, conv (be, x, m->dec.conv_out_w, m->dec.conv_out_b, 1, 1, 1));
  return ts_nn_finish (be, x, "VQ decoder", error);
}

float *
ts_vqmodel_decode_pixels (TsVqModel *m, const int32_t *ids, int batch, int h, int w,
                          GError **error)
{
  g_autoptr (TsTensor) img = ts_vqmodel_decode (m, ids, batch, h, w, error);
  if (!img)
    return NULL;
  float *px = ts_tensor_read_f32 (img, error);
  if (!px)
    return NULL;
  int64_t n = ts_tensor_numel (img);
  for (int64_t i = 0; i < n; i++)
    px[i] = px[i] < 0.0f ? 0.0f : px[i] > 1.0f ? 1.0f : px[i];
  return px;
}

TsTensor *
ts_vqmodel_decoder_level (TsVqModel *m, int level, TsTensor *x, GError **error)
{
  if (level < 0 || level >= m->cfg.n_blocks || !x || x->ndim != 4) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "VQ decoder level %d: bad input",
                 level);
    return NULL;
  }
  g_autofree char *name = g_strdup_printf ("dec.up_blocks.%d", level);
  TsTensor *y = run_level (m, &m->dec.levels[level], name, ts_tensor_ref (x), FALSE);
  return ts_nn_finish (m->be, y, "VQ decoder", error);
}
