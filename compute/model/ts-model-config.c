/* ts-model-config.c — parsing and validating the component configs. */
#include "ts-model-config.h"
#include "ts-json-reader.h"

#include <math.h>
#include <string.h>

#define MAXW TS_CONFIG_MAX_WIDTH

/* `_class_name` is optional, but when present it must name the class the folder slot needs. */
static gboolean
check_class (TsJsonReader *r, const char *expected)
{
  const char *name = NULL;
  if (!ts_json_read_string (r, "_class_name", FALSE, NULL, &name))
    return FALSE;
  if (name && !g_str_equal (name, expected)) {
    g_autofree char *shown = g_strescape (name, NULL);
    return ts_json_reader_fail (r, "_class_name", "is \"%s\"; expected \"%s\"", shown, expected);
  }
  return TRUE;
}

static gboolean
check_divides (TsJsonReader *r, const char *key, int64_t width, const char *heads_key,
               int64_t heads)
{
  if (r->failed || width % heads == 0)
    return !r->failed;
  return ts_json_reader_fail (r, key, "(%" G_GINT64_FORMAT ") is not a multiple of %s (%"
                              G_GINT64_FORMAT ")", width, heads_key, heads);
}

static gboolean
check_fraction (TsJsonReader *r, const char *key, double v, gboolean open_zero)
{
  if (r->failed)
    return FALSE;
  if (!(open_zero ? v > 0.0 : v >= 0.0) || !(v < 1.0))
    return ts_json_reader_fail (r, key, "is %g; it must be in %s0, 1)", v, open_zero ? "(" : "[");
  return TRUE;
}

/* ---- UVit2DModel ---------------------------------------------------------------------- */

void
ts_uvit_config_init (TsUVitConfig *c)
{
  *c = (TsUVitConfig) {
    .hidden_size = 1024, .use_bias = FALSE, .hidden_dropout = 0.0, .cond_embed_dim = 768,
    .micro_cond_encode_dim = 256, .micro_cond_embed_dim = 1280, .encoder_hidden_size = 768,
    .vocab_size = 8256, .codebook_size = 8192, .in_channels = 768, .block_out_channels = 768,
    .num_res_blocks = 3, .downsample = FALSE, .upsample = FALSE, .block_num_heads = 12,
    .num_hidden_layers = 22, .num_attention_heads = 16, .attention_dropout = 0.0,
    .intermediate_size = 2816, .layer_norm_eps = 1e-6, .ln_elementwise_affine = TRUE,
    .sample_size = 64,
  };
}

static gboolean
uvit_validate (TsJsonReader *r, const TsUVitConfig *c)
{
  const struct { const char *key; int64_t v; int64_t min, max; } ranges[] = {
    { "hidden_size", c->hidden_size, 1, MAXW },
    { "cond_embed_dim", c->cond_embed_dim, 1, MAXW },
    { "micro_cond_encode_dim", c->micro_cond_encode_dim, 1, MAXW },
    { "micro_cond_embed_dim", c->micro_cond_embed_dim, 1, MAXW },
    { "encoder_hidden_size", c->encoder_hidden_size, 1, MAXW },
    { "vocab_size", c->vocab_size, 1, MAXW },
    { "codebook_size", c->codebook_size, 1, MAXW },
    { "in_channels", c->in_channels, 1, MAXW },
    { "block_out_channels", c->block_out_channels, 1, MAXW },
    { "num_res_blocks", c->num_res_blocks, 0, TS_CONFIG_MAX_LAYERS },
    { "block_num_heads", c->block_num_heads, 1, MAXW },
    { "num_hidden_layers", c->num_hidden_layers, 0, TS_CONFIG_MAX_LAYERS },
    { "num_attention_heads", c->num_attention_heads, 1, MAXW },
    { "intermediate_size", c->intermediate_size, 1, MAXW },
    { "sample_size", c->sample_size, 1, MAXW },
  };
  for (guint i = 0; i < G_N_ELEMENTS (ranges); i++)
    if (!ts_json_check_range (r, ranges[i].key, ranges[i].v, ranges[i].min, ranges[i].max))
      return FALSE;
  if (!check_divides (r, "hidden_size", c->hidden_size, "num_attention_heads",
                      c->num_attention_heads) ||
      !check_divides (r, "block_out_channels", c->block_out_channels, "block_num_heads",
                      c->block_num_heads) ||
      !check_fraction (r, "layer_norm_eps", c->layer_norm_eps, TRUE) ||
      !check_fraction (r, "hidden_dropout", c->hidden_dropout, FALSE) ||
      !check_fraction (r, "attention_dropout", c->attention_dropout, FALSE))
    return FALSE;
  /* cond_embed.linear_1 takes the pooled text embedding and the sinusoids of the five
   * micro-conditions side by side. */
  if (c->micro_cond_embed_dim != TS_UVIT_N_MICRO_CONDS * c->micro_cond_encode_dim)
    return ts_json_reader_fail (r, "micro_cond_embed_dim", "(%" G_GINT64_FORMAT ") must be %d × "
                                "micro_cond_encode_dim (%" G_GINT64_FORMAT ")",
                                c->micro_cond_embed_dim, TS_UVIT_N_MICRO_CONDS,
                                c->micro_cond_encode_dim);
  return TRUE;
}

/* What the loader cannot run, though upstream can: TS_ERROR_UNSUPPORTED. */
gboolean
ts_uvit_config_check_supported (const TsUVitConfig *c, const char *what, GError **error)
{
  if (c->use_bias) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "%s: use_bias is true; only "
                 "bias-free U-ViTs (every published aMUSEd) are supported", what);
    return FALSE;
  }
  if (c->micro_cond_encode_dim % 2 ||
      c->micro_cond_embed_dim != TS_UVIT_N_MICRO_CONDS * c->micro_cond_encode_dim) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "%s: micro-conditioning of %d x %d is "
                 "not supported", what, TS_UVIT_N_MICRO_CONDS, (int) c->micro_cond_encode_dim);
    return FALSE;
  }
  if (c->downsample != c->upsample) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "%s: downsample and upsample must both "
                 "be on or both off", what);
    return FALSE;
  }
  return TRUE;
}

static gboolean
uvit_read (TsJsonReader *r, TsUVitConfig *c)
{
  ts_uvit_config_init (c);
  check_class (r, "UVit2DModel");
  ts_json_read_int (r, "hidden_size", FALSE, c->hidden_size, &c->hidden_size);
  ts_json_read_bool (r, "use_bias", c->use_bias, &c->use_bias);
  ts_json_read_double (r, "hidden_dropout", c->hidden_dropout, &c->hidden_dropout);
  ts_json_read_int (r, "cond_embed_dim", FALSE, c->cond_embed_dim, &c->cond_embed_dim);
  ts_json_read_int (r, "micro_cond_encode_dim", FALSE, c->micro_cond_encode_dim,
                    &c->micro_cond_encode_dim);
  ts_json_read_int (r, "micro_cond_embed_dim", FALSE, c->micro_cond_embed_dim,
                    &c->micro_cond_embed_dim);
  ts_json_read_int (r, "encoder_hidden_size", FALSE, c->encoder_hidden_size,
                    &c->encoder_hidden_size);
  ts_json_read_int (r, "vocab_size", FALSE, c->vocab_size, &c->vocab_size);
  ts_json_read_int (r, "codebook_size", FALSE, c->codebook_size, &c->codebook_size);
  ts_json_read_int (r, "in_channels", FALSE, c->in_channels, &c->in_channels);
  ts_json_read_int (r, "block_out_channels", FALSE, c->block_out_channels,
                    &c->block_out_channels);
  ts_json_read_int (r, "num_res_blocks", FALSE, c->num_res_blocks, &c->num_res_blocks);
  ts_json_read_bool (r, "downsample", c->downsample, &c->downsample);
  ts_json_read_bool (r, "upsample", c->upsample, &c->upsample);
  ts_json_read_int (r, "block_num_heads", FALSE, c->block_num_heads, &c->block_num_heads);
  ts_json_read_int (r, "num_hidden_layers", FALSE, c->num_hidden_layers, &c->num_hidden_layers);
  ts_json_read_int (r, "num_attention_heads", FALSE, c->num_attention_heads,
                    &c->num_attention_heads);
  ts_json_read_double (r, "attention_dropout", c->attention_dropout, &c->attention_dropout);
  ts_json_read_int (r, "intermediate_size", FALSE, c->intermediate_size, &c->intermediate_size);
  ts_json_read_double (r, "layer_norm_eps", c->layer_norm_eps, &c->layer_norm_eps);
  ts_json_read_bool (r, "ln_elementwise_affine", c->ln_elementwise_affine,
                     &c->ln_elementwise_affine);
  ts_json_read_int (r, "sample_size", FALSE, c->sample_size, &c->sample_size);
  return !r->failed && uvit_validate (r, c);
}

/* ---- VQModel -------------------------------------------------------------------------- */

void
ts_vq_config_init (TsVQConfig *c)
{
  *c = (TsVQConfig) {
    .in_channels = 3, .out_channels = 3, .latent_channels = 3, .n_blocks = 1,
    .block_out_channels = { 64 }, .layers_per_block = 1, .norm_num_groups = 32,
    .num_vq_embeddings = 256, .vq_embed_dim = 3, .mid_block_add_attention = TRUE,
    .lookup_from_codebook = FALSE, .force_upcast = FALSE, .scaling_factor = 0.18215,
    .sample_size = 32,
  };
}

static gboolean
vq_validate (TsJsonReader *r, const TsVQConfig *c)
{
  const struct { const char *key; int64_t v; int64_t max; } ranges[] = {
    { "in_channels", c->in_channels, MAXW },
    { "out_channels", c->out_channels, MAXW },
    { "latent_channels", c->latent_channels, MAXW },
    { "layers_per_block", c->layers_per_block, TS_CONFIG_MAX_LAYERS },
    { "norm_num_groups", c->norm_num_groups, MAXW },
    { "num_vq_embeddings", c->num_vq_embeddings, MAXW },
    { "vq_embed_dim", c->vq_embed_dim, MAXW },
    { "sample_size", c->sample_size, MAXW },
  };
  for (guint i = 0; i < G_N_ELEMENTS (ranges); i++)
    if (!ts_json_check_range (r, ranges[i].key, ranges[i].v, 1, ranges[i].max))
      return FALSE;
  if (!ts_json_check_range (r, "block_out_channels", c->n_blocks, 1, TS_VQ_MAX_BLOCKS))
    return FALSE;
  for (int i = 0; i < c->n_blocks; i++) {
    int64_t ch = c->block_out_channels[i];
    if (!ts_json_check_range (r, "block_out_channels", ch, 1, MAXW))
      return FALSE;
    /* every GroupNorm of the encoder and decoder runs on one of these widths */
    if (ch % c->norm_num_groups != 0)
      return ts_json_reader_fail (r, "block_out_channels", "entry %d (%" G_GINT64_FORMAT ") is "
                                  "not a multiple of norm_num_groups (%" G_GINT64_FORMAT ")", i,
                                  ch, c->norm_num_groups);
  }
  if (r->failed)
    return FALSE;
  if (!isfinite (c->scaling_factor))
    return ts_json_reader_fail (r, "scaling_factor", "must be a finite number");
  return TRUE;
}

gboolean
ts_vq_config_validate (const TsVQConfig *c, const char *file, GError **error)
{
  TsJsonReader r;
  ts_json_reader_init (&r, file, NULL, error);
  return vq_validate (&r, c);
}

gboolean
ts_vq_config_check_supported (const TsVQConfig *c, const char *what, GError **error)
{
  if (c->mid_block_add_attention) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "%s: mid-block attention is not "
                 "supported (aMUSEd's VQ has none)", what);
    return FALSE;
  }
  return TRUE;
}

/* The keys that select code paths this port does not implement. */
static gboolean
vq_check_variant (TsJsonReader *r, const TsVQConfig *c)
{
  const char *act = NULL, *norm = NULL;
  ts_json_read_string (r, "act_fn", FALSE, "silu", &act);
  ts_json_read_string (r, "norm_type", FALSE, "group", &norm);
  if (r->failed)
    return FALSE;
  if (!g_str_equal (act, "silu") && !g_str_equal (act, "swish"))
    return ts_json_reader_fail (r, "act_fn", "is \"%s\"; only \"silu\" is supported", act);
  if (!g_str_equal (norm, "group"))
    return ts_json_reader_fail (r, "norm_type", "is \"%s\"; only \"group\" is supported", norm);
  return ts_json_check_string_list (r, "down_block_types", c->n_blocks, "DownEncoderBlock2D") &&
         ts_json_check_string_list (r, "up_block_types", c->n_blocks, "UpDecoderBlock2D");
}

static gboolean
vq_read (TsJsonReader *r, TsVQConfig *c)
{
  ts_vq_config_init (c);
  check_class (r, "VQModel");
  ts_json_read_int (r, "in_channels", FALSE, c->in_channels, &c->in_channels);
  ts_json_read_int (r, "out_channels", FALSE, c->out_channels, &c->out_channels);
  ts_json_read_int (r, "latent_channels", FALSE, c->latent_channels, &c->latent_channels);
  ts_json_read_int_list (r, "block_out_channels", TS_VQ_MAX_BLOCKS, c->block_out_channels,
                         &c->n_blocks);
  ts_json_read_int (r, "layers_per_block", FALSE, c->layers_per_block, &c->layers_per_block);
  ts_json_read_int (r, "norm_num_groups", FALSE, c->norm_num_groups, &c->norm_num_groups);
  ts_json_read_int (r, "num_vq_embeddings", FALSE, c->num_vq_embeddings, &c->num_vq_embeddings);
  ts_json_read_int (r, "vq_embed_dim", FALSE, c->latent_channels, &c->vq_embed_dim);
  ts_json_read_bool (r, "mid_block_add_attention", c->mid_block_add_attention,
                     &c->mid_block_add_attention);
  ts_json_read_bool (r, "lookup_from_codebook", c->lookup_from_codebook,
                     &c->lookup_from_codebook);
  ts_json_read_bool (r, "force_upcast", c->force_upcast, &c->force_upcast);
  ts_json_read_double (r, "scaling_factor", c->scaling_factor, &c->scaling_factor);
  ts_json_read_int (r, "sample_size", FALSE, c->sample_size, &c->sample_size);
  return !r->failed && vq_check_variant (r, c) && vq_validate (r, c);
}

/* ---- CLIPTextModelWithProjection ------------------------------------------------------ */

void
ts_clip_text_config_init (TsClipTextConfig *c)
{
  *c = (TsClipTextConfig) {
    .vocab_size = 49408, .hidden_size = 512, .intermediate_size = 2048, .projection_dim = 512,
    .num_hidden_layers = 12, .num_attention_heads = 8, .max_position_embeddings = 77,
    .hidden_act = TS_CLIP_ACT_QUICK_GELU, .layer_norm_eps = 1e-5, .bos_token_id = 49406,
    .eos_token_id = 49407, .pad_token_id = 1,
  };
}

static gboolean
clip_validate (TsJsonReader *r, const TsClipTextConfig *c)
{
  const struct { const char *key; int64_t v; int64_t min, max; } ranges[] = {
    { "vocab_size", c->vocab_size, 1, MAXW },
    { "hidden_size", c->hidden_size, 1, MAXW },
    { "intermediate_size", c->intermediate_size, 1, MAXW },
    { "projection_dim", c->projection_dim, 1, MAXW },
    { "num_hidden_layers", c->num_hidden_layers, 1, TS_CONFIG_MAX_LAYERS },
    { "num_attention_heads", c->num_attention_heads, 1, MAXW },
    { "max_position_embeddings", c->max_position_embeddings, 1, MAXW },
  };
  for (guint i = 0; i < G_N_ELEMENTS (ranges); i++)
    if (!ts_json_check_range (r, ranges[i].key, ranges[i].v, ranges[i].min, ranges[i].max))
      return FALSE;
  return check_divides (r, "hidden_size", c->hidden_size, "num_attention_heads",
                        c->num_attention_heads) &&
         check_fraction (r, "layer_norm_eps", c->layer_norm_eps, TRUE);
}

static gboolean
clip_read (TsJsonReader *r, TsClipTextConfig *c)
{
  ts_clip_text_config_init (c);
  /* A full CLIPConfig keeps the text tower's settings in "text_config". */
  JsonNode *nested = json_object_get_member (r->object, "text_config");
  if (nested && JSON_NODE_HOLDS_OBJECT (nested))
    r->object = json_node_get_object (nested);

  const char *act = NULL;
  ts_json_read_int (r, "vocab_size", FALSE, c->vocab_size, &c->vocab_size);
  ts_json_read_int (r, "hidden_size", FALSE, c->hidden_size, &c->hidden_size);
  ts_json_read_int (r, "intermediate_size", FALSE, c->intermediate_size, &c->intermediate_size);
  ts_json_read_int (r, "projection_dim", FALSE, c->projection_dim, &c->projection_dim);
  ts_json_read_int (r, "num_hidden_layers", FALSE, c->num_hidden_layers, &c->num_hidden_layers);
  ts_json_read_int (r, "num_attention_heads", FALSE, c->num_attention_heads,
                    &c->num_attention_heads);
  ts_json_read_int (r, "max_position_embeddings", FALSE, c->max_position_embeddings,
                    &c->max_position_embeddings);
  ts_json_read_string (r, "hidden_act", FALSE, "quick_gelu", &act);
  ts_json_read_double (r, "layer_norm_eps", c->layer_norm_eps, &c->layer_norm_eps);
  ts_json_read_int (r, "bos_token_id", FALSE, c->bos_token_id, &c->bos_token_id);
  ts_json_read_int (r, "eos_token_id", FALSE, c->eos_token_id, &c->eos_token_id);
  ts_json_read_int (r, "pad_token_id", FALSE, c->pad_token_id, &c->pad_token_id);
  if (r->failed)
    return FALSE;
  if (g_str_equal (act, "quick_gelu"))
    c->hidden_act = TS_CLIP_ACT_QUICK_GELU;
  else if (g_str_equal (act, "gelu"))
    c->hidden_act = TS_CLIP_ACT_GELU;
  else
    return ts_json_reader_fail (r, "hidden_act", "is \"%s\"; only \"quick_gelu\" and \"gelu\" "
                                "are supported", act);
  return clip_validate (r, c);
}

/* ---- AmusedScheduler ------------------------------------------------------------------ */

static gboolean
scheduler_read (TsJsonReader *r, TsSchedulerConfig *c)
{
  const char *schedule = NULL;
  check_class (r, "AmusedScheduler");
  ts_json_read_int (r, "mask_token_id", TRUE, 0, &c->mask_token_id);
  ts_json_read_string (r, "masking_schedule", FALSE, "cosine", &schedule);
  if (!ts_json_check_range (r, "mask_token_id", c->mask_token_id, 0, MAXW))
    return FALSE;
  if (g_str_equal (schedule, "cosine"))
    c->masking_schedule = TS_MASKING_COSINE;
  else if (g_str_equal (schedule, "linear"))
    c->masking_schedule = TS_MASKING_LINEAR;
  else
    return ts_json_reader_fail (r, "masking_schedule", "is \"%s\"; expected \"cosine\" or "
                                "\"linear\"", schedule);
  return TRUE;
}

/* ---- entry points --------------------------------------------------------------------- */

typedef gboolean (*ReadFunc) (TsJsonReader *r, gpointer config);

static gboolean
parse_with (const char *json, gsize len, const char *file, ReadFunc read, gpointer config,
            GError **error)
{
  JsonObject *object;
  g_autoptr (JsonParser) parser = ts_json_parse_object (json, len, file, &object, error);
  if (!parser)
    return FALSE;
  TsJsonReader r;
  ts_json_reader_init (&r, file, object, error);
  return read (&r, config);
}

static gboolean
load_with (const char *path, const char *display_name, ReadFunc read, gpointer config,
           GError **error)
{
  const char *file = display_name ? display_name : path;
  JsonObject *object;
  g_autoptr (JsonParser) parser = ts_json_load_object (path, TS_CONFIG_MAX_FILE_BYTES, file,
                                                       &object, error);
  if (!parser)
    return FALSE;
  TsJsonReader r;
  ts_json_reader_init (&r, file, object, error);
  return read (&r, config);
}

/* Each reader gets a type-correct trampoline: calling through a cast function pointer of a
 * different type would be undefined. */
#define DEFINE_ENTRY_POINTS(prefix, Type, reader)                                          \
  static gboolean reader##_any (TsJsonReader *r, gpointer c)                                 \
  {                                                                                          \
    return reader (r, c);                                                                    \
  }                                                                                          \
  gboolean prefix##_parse (const char *json, gsize len, const char *file, Type *c,          \
                           GError **error)                                                   \
  {                                                                                          \
    return parse_with (json, len, file, reader##_any, c, error);                             \
  }                                                                                          \
  gboolean prefix##_load (const char *path, const char *display_name, Type *c,              \
                          GError **error)                                                    \
  {                                                                                          \
    return load_with (path, display_name, reader##_any, c, error);                           \
  }

DEFINE_ENTRY_POINTS (ts_uvit_config, TsUVitConfig, uvit_read)
DEFINE_ENTRY_POINTS (ts_vq_config, TsVQConfig, vq_read)
DEFINE_ENTRY_POINTS (ts_clip_text_config, TsClipTextConfig, clip_read)
DEFINE_ENTRY_POINTS (ts_scheduler_config, TsSchedulerConfig, scheduler_read)
