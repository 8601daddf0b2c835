/* golden-main.c — the goldens test program: one test per manifest case, plus the integrity of
 * the files and the tiny model folders the cases use. */
#include "golden.h"
#include "golden-paths.h"
#include "model/ts-model-folder.h"

#include <string.h>

/* Case kinds ("group" in the manifest) and what checks them: this harness runs the
 * model-file kinds; the network and pipeline kinds are replayed by the tests named here, which
 * link the networks and register those cases themselves. A case of a kind nobody checks
 * fails here, with its name. */
static const struct {
  const char   *kind;
  GoldenRunFunc run;
  const char   *checked_by;
} handlers[] = {
  { "tokenizer", golden_run_tokenizer, NULL },
  { "text", NULL, "nn-goldens (tests/nn)" },
  { "vq", NULL, "nn-goldens (tests/nn)" },
  { "transformer", NULL, "nn-goldens (tests/nn)" },
  { "medium", NULL, "nn-goldens (tests/nn)" },
  { "pipeline", NULL, "pipeline-goldens (tests/pipeline)" },
};

typedef struct {
  const char *dir;
  JsonObject *manifest;
} Goldens;

static Goldens goldens;

/* The index of the kind's handler, or the table's length for a kind without one. */
static guint
handler_of (const char *kind)
{
  guint k = 0;
  while (k < G_N_ELEMENTS (handlers) && !g_str_equal (handlers[k].kind, kind))
    k++;
  return k;
}

static void
run_case (gconstpointer data)
{
  JsonObject *spec = (JsonObject *) data;
  GoldenCase gc = {
    .dir = goldens.dir,
    .manifest = goldens.manifest,
    .spec = spec,
    .name = json_object_get_string_member (spec, "name"),
    .kind = json_object_get_string_member (spec, "group"),
    .files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                    (GDestroyNotify) ts_safetensors_unref),
  };
  guint k = handler_of (gc.kind);
  if (k == G_N_ELEMENTS (handlers))
    g_test_fail_printf ("case %s: no test handles its kind \"%s\"", gc.name, gc.kind);
  else
    handlers[k].run (&gc);
  g_hash_table_unref (gc.files);
}

/* Every file the manifest lists has its recorded size and sha256. */
static void
test_files (void)
{
  JsonObject *files = json_object_get_object_member (goldens.manifest, "files");
  JsonObjectIter iter;
  const char *rel;
  JsonNode *node;
  guint n = 0;
  guint64 bytes = 0;
  json_object_iter_init (&iter, files);
  while (json_object_iter_next (&iter, &rel, &node)) {
    JsonObject *f = json_node_get_object (node);
    g_autofree char *path = g_build_filename (goldens.dir, rel, NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (GMappedFile) mf = g_mapped_file_new (path, FALSE, &error);
    g_assert_no_error (error);
    gsize len = g_mapped_file_get_length (mf);
    g_assert_cmpint ((gint64) len, ==, json_object_get_int_member (f, "bytes"));
    g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                        (const guchar *) g_mapped_file_get_contents (mf),
                                                        len);
    if (!g_str_equal (sum, json_object_get_string_member (f, "sha256")))
      g_error ("%s: sha256 %s differs from the manifest's", rel, sum);
    n++;
    bytes += len;
  }
  g_test_message ("files: %u checked, %.1f MB, sizes and sha256 as listed", n, bytes / 1e6);
}

static void
assert_int (JsonObject *o, const char *key, int64_t got)
{
  if (json_object_get_int_member (o, key) != got)
    g_error ("%s: manifest %" G_GINT64_FORMAT ", parsed %" G_GINT64_FORMAT, key,
             json_object_get_int_member (o, key), got);
}

/* tiny-amused opens and validates, and its parsed configs say what the manifest says. */
static void
test_tiny_model (void)
{
  JsonObject *tiny = json_object_get_object_member (goldens.manifest, "tiny_model");
  g_autofree char *dir = g_build_filename (goldens.dir, json_object_get_string_member (tiny, "dir"), NULL);
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  g_autoptr (TsModelFolder) f = ts_model_folder_open (dir, NULL, &error);
  g_assert_no_error (error);
  double ms = (g_get_monotonic_time () - start) / 1000.0;

  JsonObject *t = json_object_get_object_member (tiny, "transformer");
  const TsUVitConfig *tc = ts_model_folder_transformer_config (f);
  assert_int (t, "hidden_size", tc->hidden_size);
  assert_int (t, "block_out_channels", tc->block_out_channels);
  assert_int (t, "in_channels", tc->in_channels);
  assert_int (t, "vocab_size", tc->vocab_size);
  assert_int (t, "codebook_size", tc->codebook_size);
  assert_int (t, "num_hidden_layers", tc->num_hidden_layers);
  assert_int (t, "num_res_blocks", tc->num_res_blocks);
  assert_int (t, "intermediate_size", tc->intermediate_size);
  assert_int (t, "micro_cond_encode_dim", tc->micro_cond_encode_dim);
  g_assert_cmpint (json_object_get_boolean_member (t, "downsample"), ==, tc->downsample);
  JsonObject *v = json_object_get_object_member (tiny, "vqvae");
  const TsVQConfig *vc = ts_model_folder_vq_config (f);
  assert_int (v, "latent_channels", vc->latent_channels);
  assert_int (v, "norm_num_groups", vc->norm_num_groups);
  assert_int (v, "num_vq_embeddings", vc->num_vq_embeddings);
  assert_int (v, "layers_per_block", vc->layers_per_block);
  JsonArray *ch = json_object_get_array_member (v, "block_out_channels");
  g_assert_cmpint (vc->n_blocks, ==, (int) json_array_get_length (ch));
  for (int i = 0; i < vc->n_blocks; i++)
    g_assert_cmpint (vc->block_out_channels[i], ==, json_array_get_int_element (ch, i));
  JsonObject *c = json_object_get_object_member (tiny, "text_encoder");
  const TsClipTextConfig *cc = ts_model_folder_text_encoder_config (f);
  assert_int (c, "hidden_size", cc->hidden_size);
  assert_int (c, "num_hidden_layers", cc->num_hidden_layers);
  assert_int (c, "projection_dim", cc->projection_dim);
  assert_int (c, "eos_token_id", cc->eos_token_id);
  JsonObject *s = json_object_get_object_member (tiny, "scheduler");
  assert_int (s, "mask_token_id", ts_model_folder_scheduler_config (f)->mask_token_id);
  JsonObject *k = json_object_get_object_member (tiny, "tokenizer");
  TsTokenizer *tok = ts_model_folder_tokenizer (f);
  g_assert_cmpstr (ts_tokenizer_pad_token (tok), ==, json_object_get_string_member (k, "pad_token"));
  assert_int (k, "model_max_length", ts_tokenizer_model_max_length (tok));

  g_test_message ("tiny-amused: opened and checked in %.1f ms; weights: transformer %u, "
                  "vqvae %u, text_encoder %u tensors, all named and shaped as the configs say",
                  ms, ts_weights_n_tensors (ts_model_folder_transformer_weights (f)),
                  ts_weights_n_tensors (ts_model_folder_vq_weights (f)),
                  ts_weights_n_tensors (ts_model_folder_text_encoder_weights (f)));

  const char *dir256 = json_object_get_string_member (tiny, "transformer_256path_dir");
  g_autofree char *path256 = g_build_filename (goldens.dir, dir256, NULL);
  TsUVitConfig c256;
  g_autoptr (TsWeights) w256 = ts_uvit_open (path256, NULL, &c256, &error);
  g_assert_no_error (error);
  g_assert_false (c256.downsample || c256.upsample);
  g_test_message ("tiny-transformer-256path: %u tensors, as its config says",
                  ts_weights_n_tensors (w256));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  const char *env = g_getenv ("TESSERA_GOLDENS");
  goldens.dir = env && *env ? env : TESSERA_GOLDENS_DIR;
  g_autofree char *manifest = g_build_filename (goldens.dir, "manifest.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_file (parser, manifest, &error)) {
    g_autofree char *reason = g_strdup_printf ("no goldens: %s", error->message);
    g_test_add_data_func ("/goldens/manifest", g_strdup (reason),
                          golden_paths_no_goldens_test);
    return g_test_run ();
  }
  goldens.manifest = json_node_get_object (json_parser_get_root (parser));
  g_test_message ("goldens: %s", goldens.dir);

  g_test_add_func ("/goldens/files", test_files);
  g_test_add_func ("/goldens/models/tiny", test_tiny_model);
  JsonArray *cases = json_object_get_array_member (goldens.manifest, "cases");
  for (guint i = 0; i < json_array_get_length (cases); i++) {
    JsonObject *c = json_array_get_object_element (cases, i);
    const char *group = json_object_get_string_member_with_default (c, "group", "");
    guint k = handler_of (group);
    if (k < G_N_ELEMENTS (handlers) && !handlers[k].run)
      continue; /* registered by handlers[k].checked_by */
    g_autofree char *path = g_strdup_printf ("/goldens/%s/%s", *group ? group : "no-group",
                                             json_object_get_string_member (c, "name"));
    g_test_add_data_func (path, c, run_case);
  }
  return g_test_run ();
}
