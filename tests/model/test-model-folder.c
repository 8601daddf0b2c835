/* test-model-folder.c — opening diffusers model folders: the goldens' tiny model (its weight
 * names must match our generator exactly), synthetic folders of other sizes, fp16 variants,
 * sharded weights, and folders that are wrong in the ways real downloads go wrong. */
#include "model/ts-model-defaults.h"
#include "model/ts-model-folder.h"
#include "model/ts-safetensors-writer.h"
#include "fake-backend.h"
#include "golden-paths.h"
#include "synthetic-model.h"

#include <glib/gstdio.h>
#include <string.h>

/* A model folder the goldens' manifest names (tiny_model.<key>), or NULL with the reason. */
static char *
goldens_model (const char *key, char **why)
{
  g_autoptr (GError) error = NULL;
  char *dir = golden_paths_tiny (key, &error);
  *why = dir ? NULL : g_strdup (error->message);
  return dir;
}

static char *
fixture (const char *name)
{
  return g_build_filename (TESSERA_MODEL_FIXTURES, name, NULL);
}

/* Every name in the file is one the generator expects, and the other way round. */
static void
assert_names_match (TsWeights *w, const GPtrArray *specs)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (ts_weights_check (w, specs, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ts_weights_n_tensors (w), ==, specs->len);
}

/* ---- the goldens' tiny model ---------------------------------------------------------- */

static void
test_tiny_amused (void)
{
  g_autofree char *why = NULL;
  g_autofree char *dir = goldens_model ("dir", &why);
  if (!dir) {
    g_test_skip (why);
    return;
  }
  g_autoptr (GError) error = NULL;
  g_autoptr (TsModelFolder) f = ts_model_folder_open (dir, NULL, &error);
  g_assert_no_error (error);

  const TsUVitConfig *t = ts_model_folder_transformer_config (f);
  g_assert_cmpint (t->hidden_size, ==, 32);
  g_assert_cmpint (t->block_out_channels, ==, 16);
  g_assert_true (t->downsample && t->upsample);
  g_assert_cmpint (ts_model_folder_scheduler_config (f)->mask_token_id, ==, 71);
  g_assert_cmpint (ts_model_folder_vq_config (f)->n_blocks, ==, 5);
  g_assert_cmpint (ts_model_folder_text_encoder_config (f)->projection_dim, ==, 20);
  g_assert_cmpint (ts_tokenizer_pad_id (ts_model_folder_tokenizer (f)), ==, 0);

  g_autoptr (GPtrArray) ts = ts_uvit_weight_specs (t);
  g_autoptr (GPtrArray) vs = ts_vq_weight_specs (ts_model_folder_vq_config (f));
  g_autoptr (GPtrArray) cs = ts_clip_text_weight_specs (ts_model_folder_text_encoder_config (f));
  assert_names_match (ts_model_folder_transformer_weights (f), ts);
  assert_names_match (ts_model_folder_vq_weights (f), vs);
  assert_names_match (ts_model_folder_text_encoder_weights (f), cs);
  g_assert_cmpuint (ts->len, ==, 122);
  g_assert_cmpuint (vs->len, ==, 277);
  g_assert_cmpuint (cs->len, ==, 53);
  g_assert_null (ts_weights_variant (ts_model_folder_vq_weights (f)));

  /* every weight loads without a copy, and holds the file's bytes */
  TsBackend *be = fake_backend_new (TRUE);
  TsWeights *w = ts_model_folder_vq_weights (f);
  for (guint i = 0; i < vs->len; i++) {
    const char *name = ((TsWeightSpec *) vs->pdata[i])->name;
    TsSafetensors *st;
    const TsSafetensorsTensor *info = ts_weights_lookup (w, name, &st);
    TsTensor *x = ts_weights_load (w, name, be, TS_DTYPE_COUNT, &error);
    g_assert_no_error (error);
    g_assert_true (fake_backend_data (x) == ts_safetensors_data (st, info));
    ts_tensor_unref (x);
  }
  g_assert_cmpint (fake_backend_stats (be)->n_new, ==, 0);
  g_assert_cmpint (fake_backend_stats (be)->n_live, ==, 0);
  ts_backend_free (be);
}

/* The transformer saved alone, amused-256 style (no down/upsampling). */
static void
test_tiny_256path (void)
{
  g_autofree char *why = NULL;
  g_autofree char *dir = goldens_model ("transformer_256path_dir", &why);
  if (!dir) {
    g_test_skip (why);
    return;
  }
  g_autoptr (GError) error = NULL;
  TsUVitConfig c;
  g_autoptr (TsWeights) w = ts_uvit_open (dir, NULL, &c, &error);
  g_assert_no_error (error);
  g_assert_false (c.downsample || c.upsample);
  g_autoptr (GPtrArray) specs = ts_uvit_weight_specs (&c);
  assert_names_match (w, specs);
  g_assert_cmpuint (specs->len, ==, 118);
}

/* ---- synthetic folders ---------------------------------------------------------------- */

typedef struct {
  char *dir;
} Tmp;

static void
tmp_set_up (Tmp *t, gconstpointer data)
{
  t->dir = g_dir_make_tmp ("ts-folder-XXXXXX", NULL);
  g_assert_nonnull (t->dir);
}

static void
tmp_tear_down (Tmp *t, gconstpointer data)
{
  synth_remove_tree (t->dir);
  g_free (t->dir);
}

static char *
write_other_sizes (Tmp *t, const char *name, TsDType dtype, const char *variant)
{
  g_autofree char *configs = fixture ("other-sizes");
  char *dir = g_build_filename (t->dir, name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (synth_write_folder (dir, configs, NULL, dtype, variant, 7, &error));
  g_assert_no_error (error);
  return dir;
}

static void
test_other_sizes (Tmp *t, gconstpointer data)
{
  g_autofree char *dir = write_other_sizes (t, "m", TS_DTYPE_F32, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsModelFolder) f = ts_model_folder_open (dir, NULL, &error);
  g_assert_no_error (error);
  const TsUVitConfig *c = ts_model_folder_transformer_config (f);
  g_assert_cmpint (c->num_attention_heads, ==, 3);
  g_assert_true (c->downsample && c->upsample);
  g_assert_cmpint (ts_model_folder_text_encoder_config (f)->hidden_act, ==, TS_CLIP_ACT_GELU);
  g_assert_cmpint (ts_model_folder_scheduler_config (f)->masking_schedule, ==, TS_MASKING_LINEAR);
  TsWeights *tw = ts_model_folder_transformer_weights (f);
  g_assert_nonnull (ts_weights_lookup (tw, "down_block.downsample.conv.weight", NULL));
  g_assert_nonnull (ts_weights_lookup (tw, "up_block.upsample.conv.weight", NULL));
  g_assert_null (ts_weights_lookup (ts_model_folder_vq_weights (f),
                                    "decoder.mid_block.attentions.0.to_k.weight", NULL));
  g_assert_nonnull (ts_weights_lookup (ts_model_folder_vq_weights (f),
                                       "quant_conv.weight", NULL));
}

static void
test_fp16_variant (Tmp *t, gconstpointer data)
{
  g_autofree char *dir = write_other_sizes (t, "m", TS_DTYPE_F16, "fp16");
  g_autoptr (GError) error = NULL;
  {
    /* only fp16 files: taken without being asked for */
    g_autoptr (TsModelFolder) f = ts_model_folder_open (dir, NULL, &error);
    g_assert_no_error (error);
    TsWeights *w = ts_model_folder_transformer_weights (f);
    g_assert_cmpstr (ts_weights_variant (w), ==, "fp16");
    const TsSafetensorsTensor *info = ts_weights_lookup (w, "embed.layer_norm.weight", NULL);
    g_assert_cmpstr (info->dtype_name, ==, "F16");
    TsBackend *be = fake_backend_new (TRUE);
    TsTensor *x = ts_weights_load (w, "embed.layer_norm.weight", be, TS_DTYPE_F32, &error);
    g_assert_no_error (error);
    g_autofree float *v = ts_tensor_read_f32 (x, &error);
    g_assert_cmpfloat_with_epsilon (v[0], 1.0f, 0.11f); /* norm weights are around 1 */
    ts_tensor_unref (x);
    ts_backend_free (be);
  }
  /* with full-precision files too: those by default, fp16 when asked */
  g_autofree char *configs = fixture ("other-sizes");
  g_assert_true (synth_write_folder (dir, configs, NULL, TS_DTYPE_F32, NULL, 7, &error));
  {
    g_autoptr (TsModelFolder) f = ts_model_folder_open (dir, NULL, &error);
    g_assert_no_error (error);
    g_assert_null (ts_weights_variant (ts_model_folder_vq_weights (f)));
    TsModelFolderOptions o = { .variant = "fp16" };
    g_autoptr (TsModelFolder) h = ts_model_folder_open (dir, &o, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (ts_weights_variant (ts_model_folder_vq_weights (h)), ==, "fp16");
    TsModelFolderOptions bf = { .variant = "bf16" };
    g_assert_null (ts_model_folder_open (dir, &bf, &error));
    g_assert_error (error, TS_ERROR, TS_ERROR_IO);
    g_assert_nonnull (strstr (error->message, "diffusion_pytorch_model.bf16.safetensors"));
  }
}

/* Weights split into shards listed by an index file. */
static void
test_sharded (Tmp *t, gconstpointer data)
{
  g_autofree char *dir = write_other_sizes (t, "m", TS_DTYPE_F32, NULL);
  g_autofree char *tr = g_build_filename (dir, "transformer", NULL);
  g_autofree char *single = g_build_filename (tr, "diffusion_pytorch_model.safetensors", NULL);
  g_autofree char *index = g_build_filename (tr, "diffusion_pytorch_model.safetensors.index.json", NULL);
  g_autoptr (GError) error = NULL;
  TsUVitConfig c;
  g_autofree char *cfg = g_build_filename (tr, "config.json", NULL);
  g_assert_true (ts_uvit_config_load (cfg, NULL, &c, &error));
  g_autoptr (GPtrArray) specs = ts_uvit_weight_specs (&c);
  g_autoptr (GPtrArray) half1 = g_ptr_array_new ();
  g_autoptr (GPtrArray) half2 = g_ptr_array_new ();
  GString *json = g_string_new ("{\"metadata\":{},\"weight_map\":{");
  for (guint i = 0; i < specs->len; i++) {
    TsWeightSpec *s = specs->pdata[i];
    g_ptr_array_add (i % 2 ? half2 : half1, s);
    g_string_append_printf (json, "%s\"%s\":\"part-%d.safetensors\"", i ? "," : "", s->name,
                            i % 2 + 1);
  }
  g_string_append (json, "}}");
  g_autofree char *p1 = g_build_filename (tr, "part-1.safetensors", NULL);
  g_autofree char *p2 = g_build_filename (tr, "part-2.safetensors", NULL);
  g_assert_true (synth_write_weights (p1, half1, TS_DTYPE_F32, 1, &error));
  g_assert_true (synth_write_weights (p2, half2, TS_DTYPE_F32, 2, &error));
  g_assert_true (g_file_set_contents (index, json->str, -1, &error));
  g_unlink (single);
  {
    g_autoptr (TsModelFolder) f = ts_model_folder_open (dir, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (ts_weights_n_files (ts_model_folder_transformer_weights (f)), ==, 2);
  }
  /* shard names may not leave the folder */
  g_autofree char *evil = g_strdup_printf ("{\"weight_map\":{\"%s\":\"../vqvae/x.safetensors\"}}",
                                           ((TsWeightSpec *) specs->pdata[0])->name);
  g_assert_true (g_file_set_contents (index, evil, -1, &error));
  g_assert_null (ts_model_folder_open (dir, NULL, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "invalid file name"));
  g_string_free (json, TRUE);
}

/* Rewrites the transformer weights with one weight missing, one unexpected, one of the wrong
 * shape and one of an integer type: the error names each. */
static void
test_weight_errors (Tmp *t, gconstpointer data)
{
  g_autofree char *dir = write_other_sizes (t, "m", TS_DTYPE_F32, NULL);
  g_autofree char *tr = g_build_filename (dir, "transformer", NULL);
  g_autofree char *path = g_build_filename (tr, "diffusion_pytorch_model.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  TsUVitConfig c;
  g_autofree char *cfg = g_build_filename (tr, "config.json", NULL);
  g_assert_true (ts_uvit_config_load (cfg, NULL, &c, &error));
  g_autoptr (GPtrArray) specs = ts_uvit_weight_specs (&c);

  g_autoptr (TsSafetensorsWriter) w = ts_safetensors_writer_new ();
  g_autofree char *zeros = g_malloc0 (1 << 20);
  for (guint i = 0; i < specs->len; i++) {
    TsWeightSpec *s = specs->pdata[i];
    int64_t shape[4];
    memcpy (shape, s->shape, sizeof shape);
    TsDType dtype = TS_DTYPE_F32;
    if (g_str_equal (s->name, "encoder_proj.weight"))
      continue;
    if (g_str_equal (s->name, "transformer_layers.1.attn2.to_k.weight"))
      shape[1] += 1;
    if (g_str_equal (s->name, "mlm_layer.layer_norm.weight"))
      dtype = TS_DTYPE_I32;
    g_assert_true (ts_safetensors_writer_add (w, s->name, dtype, s->ndim, shape, zeros, &error));
  }
  const int64_t one[] = { 1 };
  g_assert_true (ts_safetensors_writer_add (w, "transformer_layers.3.attn1.to_q.weight",
                                            TS_DTYPE_F32, 1, one, zeros, &error));
  g_assert_true (ts_safetensors_writer_write (w, path, &error));

  g_assert_null (ts_model_folder_open (dir, NULL, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_CORRUPT);
  g_test_message ("%s", error->message);
  const char *expect[] = {
    path, "1 missing: encoder_proj.weight",
    "transformer_layers.1.attn2.to_k.weight (file F32[48,49], config [48,48])",
    "mlm_layer.layer_norm.weight (file I32[20], config [20])",
    "1 unexpected: transformer_layers.3.attn1.to_q.weight",
  };
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
    if (!strstr (error->message, expect[i]))
      g_error ("\"%s\" does not mention \"%s\"", error->message, expect[i]);
}

static void
replace_file (const char *dir, const char *name, const char *contents)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;
  g_mkdir_with_parents (parent, 0755);
  g_assert_true (g_file_set_contents (path, contents, -1, &error));
}

static void
assert_open_fails (const char *dir, int code, const char *expect)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (ts_model_folder_open (dir, NULL, &error));
  g_assert_error (error, TS_ERROR, code);
  g_test_message ("%s", error->message);
  if (!strstr (error->message, expect))
    g_error ("\"%s\" does not mention \"%s\"", error->message, expect);
}

/* Valid configs the loaders cannot run (upstream can) are refused when the folder opens,
 * naming what is unsupported, before their weights are checked against a layout no loader
 * would ask for. */
static void
test_unsupported_configs (Tmp *t, gconstpointer data)
{
  g_autofree char *dir = write_other_sizes (t, "m", TS_DTYPE_F32, NULL);
  g_autofree char *tr_path = g_build_filename (dir, "transformer", "config.json", NULL);
  g_autofree char *vq_path = g_build_filename (dir, "vqvae", "config.json", NULL);
  g_autofree char *good_tr = NULL, *good_vq = NULL;
  g_assert_true (g_file_get_contents (tr_path, &good_tr, NULL, NULL));
  g_assert_true (g_file_get_contents (vq_path, &good_vq, NULL, NULL));

  g_autoptr (GString) tr = g_string_new (good_tr);
  g_assert_cmpuint (g_string_replace (tr, "\"upsample\": true", "\"upsample\": false", 1), ==, 1);
  replace_file (dir, "transformer/config.json", tr->str);
  assert_open_fails (dir, TS_ERROR_UNSUPPORTED, "downsample and upsample");
  g_string_assign (tr, good_tr);
  g_string_replace (tr, "\"vocab_size\"", "\"use_bias\": true, \"vocab_size\"", 1);
  replace_file (dir, "transformer/config.json", tr->str);
  assert_open_fails (dir, TS_ERROR_UNSUPPORTED, "use_bias");
  replace_file (dir, "transformer/config.json", good_tr);

  g_autoptr (GString) vq = g_string_new (good_vq);
  g_assert_cmpuint (g_string_replace (vq, "\"mid_block_add_attention\": false",
                                      "\"mid_block_add_attention\": true", 1), ==, 1);
  replace_file (dir, "vqvae/config.json", vq->str);
  assert_open_fails (dir, TS_ERROR_UNSUPPORTED, "mid-block attention");
  replace_file (dir, "vqvae/config.json", good_vq);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsModelFolder) f = ts_model_folder_open (dir, NULL, &error);
  g_assert_no_error (error);
}

/* Configs that are fine alone but do not fit together, and missing pieces. */
static void
test_folder_errors (Tmp *t, gconstpointer data)
{
  g_autofree char *dir = write_other_sizes (t, "m", TS_DTYPE_F32, NULL);
  g_autofree char *index = g_build_filename (dir, "model_index.json", NULL);
  g_autofree char *good_index = NULL;
  g_assert_true (g_file_get_contents (index, &good_index, NULL, NULL));

  replace_file (dir, "model_index.json",
                "{\"_class_name\":\"AmusedPipeline\",\"transformer\":[\"diffusers\",\"UVit2DModel\"]}");
  assert_open_fails (dir, TS_ERROR_CORRUPT, "\"vqvae\" is missing");
  replace_file (dir, "model_index.json", "{\"_class_name\":\"StableDiffusionPipeline\"}");
  assert_open_fails (dir, TS_ERROR_CORRUPT, "not an aMUSEd pipeline");
  replace_file (dir, "model_index.json", good_index);

  replace_file (dir, "scheduler/scheduler_config.json", "{\"mask_token_id\":40}");
  assert_open_fails (dir, TS_ERROR_CORRUPT, "mask_token_id 40 is outside");
  replace_file (dir, "scheduler/scheduler_config.json", "{}");
  assert_open_fails (dir, TS_ERROR_CORRUPT, "\"mask_token_id\" is missing");
  replace_file (dir, "scheduler/scheduler_config.json", "{\"mask_token_id\":39}");

  g_autofree char *text_cfg = g_build_filename (dir, "text_encoder", "config.json", NULL);
  g_autofree char *good_text = NULL;
  g_assert_true (g_file_get_contents (text_cfg, &good_text, NULL, NULL));
  replace_file (dir, "text_encoder/config.json",
                "{\"hidden_size\":64,\"num_attention_heads\":4,\"projection_dim\":16}");
  assert_open_fails (dir, TS_ERROR_CORRUPT, "missing"); /* weights no longer fit */
  replace_file (dir, "text_encoder/config.json", good_text);

  g_autofree char *weights = g_build_filename (dir, "vqvae", "diffusion_pytorch_model.safetensors", NULL);
  g_unlink (weights);
  assert_open_fails (dir, TS_ERROR_IO, "no weights");

  g_autofree char *vocab = g_build_filename (dir, "tokenizer", "vocab.json", NULL);
  g_unlink (vocab);
  assert_open_fails (dir, TS_ERROR_IO, "vocab.json");
  assert_open_fails ("/nonexistent/model", TS_ERROR_IO, "model_index.json");
}

/* Components that parse but do not fit: the text encoder's width is not the one the
 * transformer takes. */
static void
test_mismatched_components (Tmp *t, gconstpointer data)
{
  g_autofree char *configs = fixture ("other-sizes");
  g_autofree char *mixed = g_build_filename (t->dir, "configs", NULL);
  g_autofree char *dir = g_build_filename (t->dir, "m", NULL);
  g_autoptr (GError) error = NULL;
  const char *files[] = { "model_index.json", "transformer/config.json", "vqvae/config.json",
                          "scheduler/scheduler_config.json" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree char *from = g_build_filename (configs, files[i], NULL);
    g_autofree char *to = g_build_filename (mixed, files[i], NULL);
    g_autofree char *parent = g_path_get_dirname (to);
    g_autofree char *contents = NULL;
    g_mkdir_with_parents (parent, 0755);
    g_assert_true (g_file_get_contents (from, &contents, NULL, NULL));
    g_assert_true (g_file_set_contents (to, contents, -1, NULL));
  }
  replace_file (mixed, "text_encoder/config.json",
                "{\"hidden_size\":40,\"num_attention_heads\":4,\"projection_dim\":16,"
                "\"intermediate_size\":8,\"num_hidden_layers\":1,\"vocab_size\":600}");
  g_assert_true (synth_write_folder (dir, mixed, NULL, TS_DTYPE_F32, NULL, 3, &error));
  assert_open_fails (dir, TS_ERROR_CORRUPT, "text states of width 32");
}

/* tessera-defaults.json: the family's guidance without the file or the key, the file's value,
 * and a clear error (with the family's values kept) for every kind of damage. */
static void
test_sampling_defaults (Tmp *t, gconstpointer data)
{
  g_autofree char *path = g_build_filename (t->dir, TS_MODEL_DEFAULTS_FILE, NULL);
  TsModelDefaults d = { .guidance = -1 };
  g_autoptr (GError) error = NULL;
  g_assert_true (ts_model_defaults_read (t->dir, &d, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (d.guidance, ==, TS_FAMILY_GUIDANCE);

  struct { const char *text; double guidance; } good[] = {
    { "{\"guidance\": 2.5}", 2.5 }, { "{\"guidance\": 4}", 4 }, { "{\"guidance\": 0}", 0 },
    { "{\"other\": true}", TS_FAMILY_GUIDANCE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    g_assert_true (g_file_set_contents (path, good[i].text, -1, NULL));
    d.guidance = -1;
    g_assert_true (ts_model_defaults_read (t->dir, &d, &error));
    g_assert_no_error (error);
    g_assert_cmpfloat (d.guidance, ==, good[i].guidance);
  }
  const char *bad[] = { "{\"guidance\": -1}", "{\"guidance\": 1e9}", "{\"guidance\": \"2\"}",
                        "{\"guidance\": null}", "[2]", "not json", "" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_assert_true (g_file_set_contents (path, bad[i], -1, NULL));
    d.guidance = -1;
    g_assert_false (ts_model_defaults_read (t->dir, &d, &error));
    g_assert_error (error, TS_ERROR, TS_ERROR_CORRUPT);
    g_assert_nonnull (strstr (error->message, TS_MODEL_DEFAULTS_FILE));
    g_assert_cmpfloat (d.guidance, ==, TS_FAMILY_GUIDANCE);
    g_clear_error (&error);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/folder/sampling-defaults", Tmp, NULL, tmp_set_up, test_sampling_defaults,
              tmp_tear_down);
  g_test_add_func ("/folder/tiny-amused", test_tiny_amused);
  g_test_add_func ("/folder/tiny-256path", test_tiny_256path);
  g_test_add ("/folder/other-sizes", Tmp, NULL, tmp_set_up, test_other_sizes, tmp_tear_down);
  g_test_add ("/folder/fp16-variant", Tmp, NULL, tmp_set_up, test_fp16_variant, tmp_tear_down);
  g_test_add ("/folder/sharded", Tmp, NULL, tmp_set_up, test_sharded, tmp_tear_down);
  g_test_add ("/folder/weight-errors", Tmp, NULL, tmp_set_up, test_weight_errors, tmp_tear_down);
  g_test_add ("/folder/folder-errors", Tmp, NULL, tmp_set_up, test_folder_errors, tmp_tear_down);
  g_test_add ("/folder/unsupported-configs", Tmp, NULL, tmp_set_up, test_unsupported_configs,
              tmp_tear_down);
  g_test_add ("/folder/mismatched-components", Tmp, NULL, tmp_set_up,
              test_mismatched_components, tmp_tear_down);
  return g_test_run ();
}
