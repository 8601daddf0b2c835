/* ts-weight-specs.c — expected weight names and shapes of UVit2DModel, VQModel and
 * CLIPTextModelWithProjection, built the way the upstream constructors build their modules. */
#include "ts-weight-specs.h"

#include <stdarg.h>

static void
spec_free (TsWeightSpec *s)
{
  g_free (s->name);
  g_free (s);
}

/* Adds "<prefix><suffix>" with `ndim` dims given as int64_t varargs. */
static void
add (GPtrArray *specs, const char *prefix, const char *suffix, int ndim, ...)
{
  TsWeightSpec *s = g_new0 (TsWeightSpec, 1);
  s->name = g_strconcat (prefix, suffix, NULL);
  s->ndim = ndim;
  va_list args;
  va_start (args, ndim);
  for (int i = 0; i < ndim; i++)
    s->shape[i] = va_arg (args, int64_t);
  va_end (args);
  g_ptr_array_add (specs, s);
}

static void
linear (GPtrArray *s, const char *prefix, int64_t out, int64_t in, gboolean bias)
{
  add (s, prefix, ".weight", 2, out, in);
  if (bias)
    add (s, prefix, ".bias", 1, out);
}

static void
conv (GPtrArray *s, const char *prefix, int64_t out, int64_t in, int64_t k, gboolean bias)
{
  add (s, prefix, ".weight", 4, out, in, k, k);
  if (bias)
    add (s, prefix, ".bias", 1, out);
}

/* Depthwise 3×3: one input channel per group. */
static void
conv_dw (GPtrArray *s, const char *prefix, int64_t ch, gboolean bias)
{
  add (s, prefix, ".weight", 4, ch, (int64_t) 1, (int64_t) 3, (int64_t) 3);
  if (bias)
    add (s, prefix, ".bias", 1, ch);
}

static void
norm (GPtrArray *s, const char *prefix, int64_t dim, gboolean weight, gboolean bias)
{
  if (weight)
    add (s, prefix, ".weight", 1, dim);
  if (weight && bias)
    add (s, prefix, ".bias", 1, dim);
}

/* diffusers Attention: q from `dim`, k and v from `kv_dim`, inner width = dim. */
static void
attention (GPtrArray *s, const char *prefix, int64_t dim, int64_t kv_dim, gboolean bias,
           gboolean out_bias)
{
  g_autofree char *q = g_strconcat (prefix, ".to_q", NULL);
  g_autofree char *k = g_strconcat (prefix, ".to_k", NULL);
  g_autofree char *v = g_strconcat (prefix, ".to_v", NULL);
  g_autofree char *o = g_strconcat (prefix, ".to_out.0", NULL);
  linear (s, q, dim, dim, bias);
  linear (s, k, dim, kv_dim, bias);
  linear (s, v, dim, kv_dim, bias);
  linear (s, o, dim, dim, out_bias);
}

/* A newly allocated name (callers hold it in g_autofree variables). */
static char *G_GNUC_PRINTF (1, 2)
fmt (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  char *out = g_strdup_vprintf (format, args);
  va_end (args);
  return out;
}

/* ---- UVit2DModel ---------------------------------------------------------------------- */

static void
uvit_conv_next (GPtrArray *s, const char *block, int i, const TsUVitConfig *c)
{
  int64_t ch = c->block_out_channels, wide = 4 * ch;
  gboolean b = c->use_bias;
  g_autofree char *p = fmt ("%s.res_blocks.%d", block, i);
  g_autofree char *dw = fmt ("%s.depthwise", p);
  g_autofree char *n = fmt ("%s.norm", p);
  g_autofree char *l1 = fmt ("%s.channelwise_linear_1", p);
  g_autofree char *l2 = fmt ("%s.channelwise_linear_2", p);
  g_autofree char *map = fmt ("%s.cond_embeds_mapper", p);
  conv_dw (s, dw, ch, b);
  norm (s, n, ch, c->ln_elementwise_affine, FALSE);
  linear (s, l1, wide, ch, b);
  add (s, p, ".channelwise_norm.gamma", 4, (int64_t) 1, (int64_t) 1, (int64_t) 1, wide);
  add (s, p, ".channelwise_norm.beta", 4, (int64_t) 1, (int64_t) 1, (int64_t) 1, wide);
  linear (s, l2, ch, wide, b);
  linear (s, map, 2 * ch, c->hidden_size, b);
}

/* SkipFFTransformerBlock: two cross-attentions to the (mapped) text states, no FFN. */
static void
uvit_skip_ff (GPtrArray *s, const char *block, int i, const TsUVitConfig *c)
{
  int64_t ch = c->block_out_channels;
  g_autofree char *p = fmt ("%s.attention_blocks.%d", block, i);
  g_autofree char *kv = fmt ("%s.kv_mapper", p);
  g_autofree char *n1 = fmt ("%s.norm1", p);
  g_autofree char *n2 = fmt ("%s.norm2", p);
  g_autofree char *a1 = fmt ("%s.attn1", p);
  g_autofree char *a2 = fmt ("%s.attn2", p);
  if (c->hidden_size != ch)
    linear (s, kv, ch, c->hidden_size, c->use_bias);
  norm (s, n1, ch, TRUE, FALSE); /* built as RMSNorm(dim, 1e-06): always affine */
  attention (s, a1, ch, ch, c->use_bias, c->use_bias);
  norm (s, n2, ch, TRUE, FALSE);
  attention (s, a2, ch, ch, c->use_bias, c->use_bias);
}

static void
uvit_block (GPtrArray *s, const char *block, gboolean down, gboolean up, const TsUVitConfig *c)
{
  int64_t ch = c->block_out_channels;
  g_autofree char *dn = fmt ("%s.downsample.norm", block);
  g_autofree char *dc = fmt ("%s.downsample.conv", block);
  g_autofree char *un = fmt ("%s.upsample.norm", block);
  g_autofree char *uc = fmt ("%s.upsample.conv", block);
  if (down) {
    norm (s, dn, ch, c->ln_elementwise_affine, FALSE);
    conv (s, dc, ch, ch, 2, c->use_bias);
  }
  for (int i = 0; i < c->num_res_blocks; i++)
    uvit_conv_next (s, block, i, c);
  for (int i = 0; i < c->num_res_blocks; i++)
    uvit_skip_ff (s, block, i, c);
  if (up) {
    norm (s, un, ch, c->ln_elementwise_affine, FALSE);
    conv (s, uc, ch, ch, 2, c->use_bias); /* ConvTranspose2d [in, out, 2, 2]; in == out */
  }
}

/* BasicTransformerBlock, norm_type "ada_norm_continuous": norm1/norm2 are RMSNorm, norm3 a
 * LayerNorm (with a bias only when use_bias), each with its own scale/shift Linear. */
static void
uvit_transformer_layer (GPtrArray *s, int i, const TsUVitConfig *c)
{
  int64_t h = c->hidden_size;
  gboolean b = c->use_bias, affine = c->ln_elementwise_affine;
  for (int n = 1; n <= 3; n++) {
    g_autofree char *lin = fmt ("transformer_layers.%d.norm%d.linear", i, n);
    g_autofree char *nn = fmt ("transformer_layers.%d.norm%d.norm", i, n);
    linear (s, lin, 2 * h, h, b);
    norm (s, nn, h, affine, n == 3 && b);
    if (n < 3) {
      g_autofree char *attn = fmt ("transformer_layers.%d.attn%d", i, n);
      attention (s, attn, h, h, b, b);
    }
  }
  g_autofree char *ff0 = fmt ("transformer_layers.%d.ff.net.0.proj", i);
  g_autofree char *ff2 = fmt ("transformer_layers.%d.ff.net.2", i);
  linear (s, ff0, 2 * c->intermediate_size, h, b); /* GEGLU: value and gate halves */
  linear (s, ff2, h, c->intermediate_size, b);
}

GPtrArray *
ts_uvit_weight_specs (const TsUVitConfig *c)
{
  GPtrArray *s = g_ptr_array_new_with_free_func ((GDestroyNotify) spec_free);
  int64_t h = c->hidden_size, ch = c->block_out_channels, in = c->in_channels;
  gboolean b = c->use_bias, affine = c->ln_elementwise_affine;

  linear (s, "encoder_proj", h, c->encoder_hidden_size, b);
  norm (s, "encoder_proj_layer_norm", h, affine, FALSE);
  add (s, "embed.embeddings", ".weight", 2, c->vocab_size, in);
  norm (s, "embed.layer_norm", in, affine, FALSE);
  conv (s, "embed.conv", ch, in, 1, b);
  linear (s, "cond_embed.linear_1", h, c->micro_cond_embed_dim + c->cond_embed_dim, b);
  linear (s, "cond_embed.linear_2", h, h, b);
  uvit_block (s, "down_block", c->downsample, FALSE, c);
  norm (s, "project_to_hidden_norm", ch, affine, FALSE);
  linear (s, "project_to_hidden", h, ch, b);
  for (int i = 0; i < c->num_hidden_layers; i++)
    uvit_transformer_layer (s, i, c);
  norm (s, "project_from_hidden_norm", h, affine, FALSE);
  linear (s, "project_from_hidden", ch, h, b);
  uvit_block (s, "up_block", FALSE, c->upsample, c);
  conv (s, "mlm_layer.conv1", in, ch, 1, b);
  norm (s, "mlm_layer.layer_norm", in, affine, FALSE);
  conv (s, "mlm_layer.conv2", c->codebook_size, in, 1, b);
  return s;
}

/* ---- VQModel -------------------------------------------------------------------------- */

/* ResnetBlock2D: GroupNorm, conv3x3, GroupNorm, conv3x3; a 1×1 shortcut when widths differ. */
static void
vq_resnet (GPtrArray *s, const char *p, int64_t in, int64_t out)
{
  g_autofree char *n1 = fmt ("%s.norm1", p);
  g_autofree char *c1 = fmt ("%s.conv1", p);
  g_autofree char *n2 = fmt ("%s.norm2", p);
  g_autofree char *c2 = fmt ("%s.conv2", p);
  g_autofree char *sc = fmt ("%s.conv_shortcut", p);
  norm (s, n1, in, TRUE, TRUE);
  conv (s, c1, out, in, 3, TRUE);
  norm (s, n2, out, TRUE, TRUE);
  conv (s, c2, out, out, 3, TRUE);
  if (in != out)
    conv (s, sc, out, in, 1, TRUE);
}

/* UNetMidBlock2D: resnet, optional single-head attention, resnet. */
static void
vq_mid_block (GPtrArray *s, const char *coder, const TsVQConfig *c)
{
  int64_t ch = c->block_out_channels[c->n_blocks - 1];
  g_autofree char *r0 = fmt ("%s.mid_block.resnets.0", coder);
  g_autofree char *r1 = fmt ("%s.mid_block.resnets.1", coder);
  g_autofree char *gn = fmt ("%s.mid_block.attentions.0.group_norm", coder);
  g_autofree char *at = fmt ("%s.mid_block.attentions.0", coder);
  vq_resnet (s, r0, ch, ch);
  if (c->mid_block_add_attention) {
    norm (s, gn, ch, TRUE, TRUE);
    attention (s, at, ch, ch, TRUE, TRUE);
  }
  vq_resnet (s, r1, ch, ch);
}

static void
vq_encoder (GPtrArray *s, const TsVQConfig *c)
{
  int64_t last = c->block_out_channels[c->n_blocks - 1];
  conv (s, "encoder.conv_in", c->block_out_channels[0], c->in_channels, 3, TRUE);
  int64_t in = c->block_out_channels[0];
  for (int i = 0; i < c->n_blocks; i++) {
    int64_t out = c->block_out_channels[i];
    for (int j = 0; j < c->layers_per_block; j++) {
      g_autofree char *p = fmt ("encoder.down_blocks.%d.resnets.%d", i, j);
      vq_resnet (s, p, j == 0 ? in : out, out);
    }
    if (i < c->n_blocks - 1) {
      g_autofree char *p = fmt ("encoder.down_blocks.%d.downsamplers.0.conv", i);
      conv (s, p, out, out, 3, TRUE);
    }
    in = out;
  }
  vq_mid_block (s, "encoder", c);
  norm (s, "encoder.conv_norm_out", last, TRUE, TRUE);
  conv (s, "encoder.conv_out", c->latent_channels, last, 3, TRUE);
}

/* The decoder walks the widths in reverse, with one more resnet per block. */
static void
vq_decoder (GPtrArray *s, const TsVQConfig *c)
{
  int n = c->n_blocks;
  int64_t last = c->block_out_channels[n - 1];
  conv (s, "decoder.conv_in", last, c->latent_channels, 3, TRUE);
  vq_mid_block (s, "decoder", c);
  int64_t prev = last;
  for (int i = 0; i < n; i++) {
    int64_t out = c->block_out_channels[n - 1 - i];
    for (int j = 0; j <= c->layers_per_block; j++) {
      g_autofree char *p = fmt ("decoder.up_blocks.%d.resnets.%d", i, j);
      vq_resnet (s, p, j == 0 ? prev : out, out);
    }
    if (i < n - 1) {
      g_autofree char *p = fmt ("decoder.up_blocks.%d.upsamplers.0.conv", i);
      conv (s, p, out, out, 3, TRUE);
    }
    prev = out;
  }
  norm (s, "decoder.conv_norm_out", c->block_out_channels[0], TRUE, TRUE);
  conv (s, "decoder.conv_out", c->out_channels, c->block_out_channels[0], 3, TRUE);
}

GPtrArray *
ts_vq_weight_specs (const TsVQConfig *c)
{
  GPtrArray *s = g_ptr_array_new_with_free_func ((GDestroyNotify) spec_free);
  vq_encoder (s, c);
  conv (s, "quant_conv", c->vq_embed_dim, c->latent_channels, 1, TRUE);
  add (s, "quantize.embedding", ".weight", 2, c->num_vq_embeddings, c->vq_embed_dim);
  conv (s, "post_quant_conv", c->latent_channels, c->vq_embed_dim, 1, TRUE);
  vq_decoder (s, c);
  return s;
}

/* ---- CLIPTextModelWithProjection ------------------------------------------------------ */

GPtrArray *
ts_clip_text_weight_specs (const TsClipTextConfig *c)
{
  GPtrArray *s = g_ptr_array_new_with_free_func ((GDestroyNotify) spec_free);
  int64_t d = c->hidden_size;
  add (s, "text_model.embeddings.token_embedding", ".weight", 2, c->vocab_size, d);
  add (s, "text_model.embeddings.position_embedding", ".weight", 2,
       c->max_position_embeddings, d);
  for (int i = 0; i < c->num_hidden_layers; i++) {
    const char *proj[] = { "k_proj", "v_proj", "q_proj", "out_proj" };
    for (guint j = 0; j < G_N_ELEMENTS (proj); j++) {
      g_autofree char *p = fmt ("text_model.encoder.layers.%d.self_attn.%s", i, proj[j]);
      linear (s, p, d, d, TRUE);
    }
    g_autofree char *ln1 = fmt ("text_model.encoder.layers.%d.layer_norm1", i);
    g_autofree char *fc1 = fmt ("text_model.encoder.layers.%d.mlp.fc1", i);
    g_autofree char *fc2 = fmt ("text_model.encoder.layers.%d.mlp.fc2", i);
    g_autofree char *ln2 = fmt ("text_model.encoder.layers.%d.layer_norm2", i);
    norm (s, ln1, d, TRUE, TRUE);
    linear (s, fc1, c->intermediate_size, d, TRUE);
    linear (s, fc2, d, c->intermediate_size, TRUE);
    norm (s, ln2, d, TRUE, TRUE);
  }
  norm (s, "text_model.final_layer_norm", d, TRUE, TRUE);
  linear (s, "text_projection", c->projection_dim, d, FALSE);
  return s;
}

/* ---- helpers -------------------------------------------------------------------------- */

int64_t
ts_weight_specs_numel (const GPtrArray *specs)
{
  guint64 total = 0;
  for (guint i = 0; i < specs->len; i++) {
    const TsWeightSpec *w = specs->pdata[i];
    guint64 n = 1;
    for (int d = 0; d < w->ndim; d++)
      if (!g_uint64_checked_mul (&n, n, (guint64) w->shape[d]))
        return G_MAXINT64;
    if (!g_uint64_checked_add (&total, total, n))
      return G_MAXINT64;
  }
  return (int64_t) MIN (total, (guint64) G_MAXINT64);
}

char *
ts_weight_spec_describe_shape (int ndim, const int64_t *shape)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}
