/* ts-model-folder.c — opening and checking a diffusers aMUSEd folder. */
#include "ts-model-folder.h"
#include "ts-json-reader.h"

#include <string.h>

struct _TsModelFolder {
  char             *path;
  TsUVitConfig      transformer;
  TsVQConfig        vq;
  TsClipTextConfig  text_encoder;
  TsSchedulerConfig scheduler;
  TsTokenizer      *tokenizer;
  TsWeights        *transformer_weights;
  TsWeights        *vq_weights;
  TsWeights        *text_encoder_weights;
};

/* Checkpoints saved by older transformers carry this buffer; it holds 0..76 and is unused. */
static const char *const clip_ignored[] = { "text_model.embeddings.position_ids", NULL };

/* ---- single components ---------------------------------------------------------------- */

typedef gboolean (*ConfigLoader) (const char *path, const char *display, gpointer config,
                                  GError **error);
typedef GPtrArray *(*SpecMaker) (gconstpointer config);

static TsWeights *
open_component (const char *dir, const char *weights_base, const char *variant,
                ConfigLoader load, SpecMaker specs, const char *const *ignored, gpointer config,
                GError **error)
{
  g_autofree char *config_path = g_build_filename (dir, "config.json", NULL);
  if (!load (config_path, NULL, config, error))
    return NULL;
  g_autoptr (TsWeights) w = ts_weights_open (dir, weights_base, variant, dir, error);
  if (!w)
    return NULL;
  g_autoptr (GPtrArray) expected = specs (config);
  if (!ts_weights_check (w, expected, ignored, error))
    return NULL;
  return g_steal_pointer (&w);
}

/* Type-correct adaptors for open_component. */
/* A config the loader cannot run fails here, before its weights are checked against specs
 * the loader would never ask for. */
static gboolean
load_uvit (const char *p, const char *d, gpointer c, GError **e)
{
  return ts_uvit_config_load (p, d, c, e) && ts_uvit_config_check_supported (c, "transformer", e);
}

static gboolean
load_vq (const char *p, const char *d, gpointer c, GError **e)
{
  return ts_vq_config_load (p, d, c, e) && ts_vq_config_check_supported (c, "VQ model", e);
}

static gboolean
load_clip (const char *p, const char *d, gpointer c, GError **e)
{
  return ts_clip_text_config_load (p, d, c, e);
}

static GPtrArray *
specs_uvit (gconstpointer c)
{
  return ts_uvit_weight_specs (c);
}

static GPtrArray *
specs_vq (gconstpointer c)
{
  return ts_vq_weight_specs (c);
}

static GPtrArray *
specs_clip (gconstpointer c)
{
  return ts_clip_text_weight_specs (c);
}

TsWeights *
ts_uvit_open (const char *dir, const char *variant, TsUVitConfig *config, GError **error)
{
  return open_component (dir, "diffusion_pytorch_model", variant, load_uvit, specs_uvit, NULL,
                         config, error);
}

TsWeights *
ts_vq_open (const char *dir, const char *variant, TsVQConfig *config, GError **error)
{
  return open_component (dir, "diffusion_pytorch_model", variant, load_vq, specs_vq, NULL,
                         config, error);
}

TsWeights *
ts_clip_text_open (const char *dir, const char *variant, TsClipTextConfig *config,
                   GError **error)
{
  return open_component (dir, "model", variant, load_clip, specs_clip, clip_ignored, config,
                         error);
}

/* ---- model_index.json ----------------------------------------------------------------- */

static const struct {
  const char *key;
  const char *classes[3];
} components[] = {
  { "transformer", { "UVit2DModel" } },
  { "vqvae", { "VQModel" } },
  { "text_encoder", { "CLIPTextModelWithProjection" } },
  { "tokenizer", { "CLIPTokenizer", "CLIPTokenizerFast" } },
  { "scheduler", { "AmusedScheduler" } },
};

/* Each component entry is ["library", "ClassName"]. */
static gboolean
check_component (TsJsonReader *r, guint i)
{
  JsonNode *node = json_object_get_member (r->object, components[i].key);
  if (!node)
    return ts_json_reader_fail (r, components[i].key, "is missing: not an aMUSEd pipeline folder");
  JsonArray *a = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  JsonNode *cls = a && json_array_get_length (a) == 2 ? json_array_get_element (a, 1) : NULL;
  if (!cls || !JSON_NODE_HOLDS_VALUE (cls) || json_node_get_value_type (cls) != G_TYPE_STRING)
    return ts_json_reader_fail (r, components[i].key, "must be [\"library\", \"ClassName\"]");
  const char *name = json_node_get_string (cls);
  for (guint k = 0; k < G_N_ELEMENTS (components[i].classes) && components[i].classes[k]; k++)
    if (g_str_equal (name, components[i].classes[k]))
      return TRUE;
  g_autofree char *shown = g_strescape (name, NULL);
  return ts_json_reader_fail (r, components[i].key, "is a %s; expected %s", shown,
                              components[i].classes[0]);
}

static gboolean
read_model_index (const char *path, GError **error)
{
  g_autofree char *file = g_build_filename (path, "model_index.json", NULL);
  JsonObject *obj;
  g_autoptr (JsonParser) parser = ts_json_load_object (file, TS_CONFIG_MAX_FILE_BYTES, NULL,
                                                       &obj, error);
  if (!parser)
    return FALSE;
  TsJsonReader r;
  ts_json_reader_init (&r, file, obj, error);
  const char *cls = NULL;
  if (!ts_json_read_string (&r, "_class_name", FALSE, NULL, &cls))
    return FALSE;
  if (cls && !g_str_has_prefix (cls, "Amused"))
    return ts_json_reader_fail (&r, "_class_name", "is \"%s\", not an aMUSEd pipeline", cls);
  for (guint i = 0; i < G_N_ELEMENTS (components); i++)
    if (!check_component (&r, i))
      return FALSE;
  return TRUE;
}

/* ---- the components together ---------------------------------------------------------- */

static gboolean G_GNUC_PRINTF (3, 4)
mismatch (GError **error, const TsModelFolder *f, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT, "%s: components do not fit together: %s",
               f->path, msg);
  return FALSE;
}

static gboolean
check_fit (const TsModelFolder *f, GError **error)
{
  const TsUVitConfig *t = &f->transformer;
  const TsClipTextConfig *c = &f->text_encoder;
  if (t->encoder_hidden_size != c->hidden_size)
    return mismatch (error, f, "the transformer takes text states of width %" G_GINT64_FORMAT
                     ", the text encoder makes %" G_GINT64_FORMAT, t->encoder_hidden_size,
                     c->hidden_size);
  if (t->cond_embed_dim != c->projection_dim)
    return mismatch (error, f, "the transformer takes a pooled text embedding of width %"
                     G_GINT64_FORMAT ", the text encoder projects to %" G_GINT64_FORMAT,
                     t->cond_embed_dim, c->projection_dim);
  if (f->scheduler.mask_token_id >= t->vocab_size)
    return mismatch (error, f, "mask_token_id %" G_GINT64_FORMAT " is outside the transformer's "
                     "%" G_GINT64_FORMAT " token embeddings", f->scheduler.mask_token_id,
                     t->vocab_size);
  if (t->codebook_size > f->vq.num_vq_embeddings)
    return mismatch (error, f, "the transformer predicts %" G_GINT64_FORMAT " codes, the VQ "
                     "codebook has %" G_GINT64_FORMAT, t->codebook_size,
                     f->vq.num_vq_embeddings);
  if (ts_tokenizer_vocab_size (f->tokenizer) > c->vocab_size)
    return mismatch (error, f, "the tokenizer has %" G_GINT64_FORMAT " tokens, the text encoder "
                     "embeds %" G_GINT64_FORMAT, ts_tokenizer_vocab_size (f->tokenizer),
                     c->vocab_size);
  if (ts_tokenizer_model_max_length (f->tokenizer) > c->max_position_embeddings)
    return mismatch (error, f, "prompts of %d tokens, but the text encoder has %" G_GINT64_FORMAT
                     " positions", ts_tokenizer_model_max_length (f->tokenizer),
                     c->max_position_embeddings);
  return TRUE;
}

static gboolean
open_parts (TsModelFolder *f, const char *variant, GError **error)
{
  g_autofree char *tr = g_build_filename (f->path, "transformer", NULL);
  g_autofree char *vq = g_build_filename (f->path, "vqvae", NULL);
  g_autofree char *te = g_build_filename (f->path, "text_encoder", NULL);
  g_autofree char *tok = g_build_filename (f->path, "tokenizer", NULL);
  g_autofree char *sched = g_build_filename (f->path, "scheduler", "scheduler_config.json", NULL);
  return read_model_index (f->path, error) &&
         ts_scheduler_config_load (sched, NULL, &f->scheduler, error) &&
         (f->tokenizer = ts_tokenizer_new_from_dir (tok, error)) &&
         (f->transformer_weights = ts_uvit_open (tr, variant, &f->transformer, error)) &&
         (f->vq_weights = ts_vq_open (vq, variant, &f->vq, error)) &&
         (f->text_encoder_weights = ts_clip_text_open (te, variant, &f->text_encoder, error)) &&
         check_fit (f, error);
}

TsModelFolder *
ts_model_folder_open (const char *path, const TsModelFolderOptions *options, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  TsModelFolder *f = g_new0 (TsModelFolder, 1);
  f->path = g_strdup (path);
  if (!open_parts (f, options ? options->variant : NULL, error)) {
    ts_model_folder_free (f);
    return NULL;
  }
  return f;
}

void
ts_model_folder_free (TsModelFolder *f)
{
  if (!f)
    return;
  ts_tokenizer_free (f->tokenizer);
  ts_weights_free (f->transformer_weights);
  ts_weights_free (f->vq_weights);
  ts_weights_free (f->text_encoder_weights);
  g_free (f->path);
  g_free (f);
}

const char *
ts_model_folder_path (const TsModelFolder *f)
{
  return f->path;
}

const TsUVitConfig *
ts_model_folder_transformer_config (const TsModelFolder *f)
{
  return &f->transformer;
}

const TsVQConfig *
ts_model_folder_vq_config (const TsModelFolder *f)
{
  return &f->vq;
}

const TsClipTextConfig *
ts_model_folder_text_encoder_config (const TsModelFolder *f)
{
  return &f->text_encoder;
}

const TsSchedulerConfig *
ts_model_folder_scheduler_config (const TsModelFolder *f)
{
  return &f->scheduler;
}

TsTokenizer *
ts_model_folder_tokenizer (const TsModelFolder *f)
{
  return f->tokenizer;
}

TsWeights *
ts_model_folder_transformer_weights (const TsModelFolder *f)
{
  return f->transformer_weights;
}

TsWeights *
ts_model_folder_vq_weights (const TsModelFolder *f)
{
  return f->vq_weights;
}

TsWeights *
ts_model_folder_text_encoder_weights (const TsModelFolder *f)
{
  return f->text_encoder_weights;
}
