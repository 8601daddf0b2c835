/* test-malformed.c — malformed safetensors files and configs, each refused with an error
 * that names the file, the tensor or key, and the problem.
 *
 * The corpus is generated here. With TESSERA_WRITE_CORPUS=<dir> set, the cases are also
 * written out as seeds for the fuzz targets (<dir>/safetensors/, <dir>/config/). */
#include "model/ts-model-config.h"
#include "model/ts-safetensors-writer.h"
#include "fuzz-config-format.h"

#include <glib/gstdio.h>
#include <string.h>

#define FILE_NAME "bad.safetensors"

/* ---- safetensors ---------------------------------------------------------------------- */

/* u64 `header_len` (or the real length when G_MAXUINT64), the header, `data_len` bytes. */
static GBytes *
st_file (const char *header, gsize header_bytes, guint64 header_len, gsize data_len)
{
  GByteArray *a = g_byte_array_new ();
  guint64 n = GUINT64_TO_LE (header_len == G_MAXUINT64 ? header_bytes : header_len);
  g_byte_array_append (a, (const guint8 *) &n, 8);
  g_byte_array_append (a, (const guint8 *) header, (guint) header_bytes);
  for (gsize i = 0; i < data_len; i++)
    g_byte_array_append (a, (const guint8 *) "\x11", 1);
  return g_byte_array_free_to_bytes (a);
}

static GBytes *
st_json (const char *header, gsize data_len)
{
  return st_file (header, strlen (header), G_MAXUINT64, data_len);
}

typedef struct {
  const char *name;
  GBytes     *bytes;
  const char *expect[3]; /* substrings the message must contain */
} StCase;

#define T(n, ...) "\"" n "\":{" __VA_ARGS__ "}"

static GPtrArray *
st_cases (void)
{
  GPtrArray *c = g_ptr_array_new ();
#define ADD(n, b, ...)                                                                        \
  do {                                                                                       \
    StCase *x = g_new0 (StCase, 1);                                                          \
    *x = (StCase) { n, b, { __VA_ARGS__ } };                                                 \
    g_ptr_array_add (c, x);                                                                  \
  } while (0)
  const char good[] = "{" T ("w", "\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]") "}";

  ADD ("empty-file", g_bytes_new_static ("", 0), "too short");
  ADD ("four-bytes", g_bytes_new_static ("\x10\0\0\0", 4), "too short");
  ADD ("header-longer-than-file", st_file (good, sizeof good - 1, 4096, 16),
       "header length 4096", "larger than the rest");
  ADD ("header-length-2^64-1", st_file (good, sizeof good - 1, G_MAXUINT64 - 1, 16),
       "larger than the rest");
  ADD ("header-length-lies-short", st_file (good, sizeof good - 1, 20, 16), "not valid JSON");
  ADD ("header-length-1", st_file (good, sizeof good - 1, 1, 16), "too short for a JSON");
  ADD ("header-not-object", st_json ("[1,2,3]", 0), "not a JSON object");
  ADD ("header-trailing-garbage", st_json ("{} x", 0), "not valid JSON");
  ADD ("header-nul-byte", st_file ("{\"a\0b\":{}}", 10, G_MAXUINT64, 0), "not valid UTF-8");
  ADD ("non-utf8-name",
       st_json ("{" T ("w\xff\xfe", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]") "}", 4),
       "not valid UTF-8", "after \"{\"w");
  ADD ("surrogate-escape-name",
       st_json ("{" T ("\\udc80", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]") "}", 4),
       "not valid"); /* json-glib refuses it, or passes it on as invalid UTF-8 */
  ADD ("empty-name", st_json ("{" T ("", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]") "}", 4),
       "empty name");
  ADD ("duplicate-name",
       st_json ("{" T ("w", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]") ","
                T ("w", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]") "}", 8),
       "\"w\" twice");
  ADD ("truncated-data", st_json (good, 10), "\"w\"", "past the end", "truncated");
  ADD ("overlapping-offsets",
       st_json ("{" T ("first", "\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]") ","
                T ("second", "\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]") "}", 24),
       "\"first\"", "\"second\"", "overlap");
  ADD ("same-offsets",
       st_json ("{" T ("p", "\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]") ","
                T ("q", "\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]") "}", 4),
       "overlap");
  ADD ("huge-shape-elements",
       st_json ("{" T ("big", "\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776,1099511627776],"
                       "\"data_offsets\":[0,16]") "}", 16),
       "\"big\"", "2^64 elements");
  ADD ("huge-shape-bytes",
       st_json ("{" T ("big", "\"dtype\":\"F64\",\"shape\":[4611686018427387904],"
                       "\"data_offsets\":[0,16]") "}", 16),
       "\"big\"", "too large");
  ADD ("shape-disagrees-with-offsets",
       st_json ("{" T ("w", "\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]") "}", 20),
       "\"w\"", "hold 20 bytes", "F32[2,3] needs 24");
  ADD ("unknown-dtype",
       st_json ("{" T ("w", "\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]") "}", 4),
       "\"w\"", "unknown dtype \"F33\"");
  ADD ("dtype-not-string",
       st_json ("{" T ("w", "\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]") "}", 4),
       "\"w\"", "\"dtype\"");
  ADD ("negative-dim",
       st_json ("{" T ("w", "\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]") "}", 4),
       "\"w\"", "shape[0]");
  ADD ("fractional-dim",
       st_json ("{" T ("w", "\"dtype\":\"F32\",\"shape\":[1,2.5],\"data_offsets\":[0,4]") "}", 4),
       "\"w\"", "shape[1]");
  ADD ("dim-beyond-int64",
       st_json ("{" T ("w", "\"dtype\":\"U8\",\"shape\":[18446744073709551617],"
                       "\"data_offsets\":[0,1]") "}", 1),
       "\"w\"", "shape[0]");
  ADD ("nine-dims",
       st_json ("{" T ("w", "\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                       "\"data_offsets\":[0,4]") "}", 4),
       "\"w\"", "9 dimensions");
  ADD ("shape-missing", st_json ("{" T ("w", "\"dtype\":\"F32\",\"data_offsets\":[0,4]") "}", 4),
       "\"w\"", "\"shape\"");
  ADD ("offsets-reversed",
       st_json ("{" T ("w", "\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,0]") "}", 8),
       "\"w\"", "end before");
  ADD ("offsets-not-a-pair",
       st_json ("{" T ("w", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]") "}", 4),
       "\"w\"", "\"data_offsets\"");
  ADD ("offset-beyond-int64",
       st_json ("{" T ("w", "\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]")
                "}", 1),
       "\"w\"", "non-negative integers");
  ADD ("entry-not-object", st_json ("{\"w\":5}", 0), "\"w\"", "not a JSON object");
  ADD ("metadata-not-string", st_json ("{\"__metadata__\":{\"format\":1}}", 0), "__metadata__",
       "\"format\"");
  ADD ("metadata-not-object", st_json ("{\"__metadata__\":[]}", 0), "__metadata__");
#undef ADD
  return c;
}

static void
test_safetensors_case (gconstpointer data)
{
  const StCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (TsSafetensors) st = ts_safetensors_new_from_bytes (c->bytes, FILE_NAME, &error);
  g_assert_null (st);
  g_assert_error (error, TS_ERROR, TS_ERROR_CORRUPT);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, FILE_NAME ": "));
  for (guint i = 0; i < G_N_ELEMENTS (c->expect) && c->expect[i]; i++)
    if (!strstr (error->message, c->expect[i]))
      g_error ("message \"%s\" does not mention \"%s\"", error->message, c->expect[i]);
}

/* A real file cut short at every length is refused cleanly (never read out of bounds). */
static void
test_truncations (void)
{
  g_autoptr (TsSafetensorsWriter) w = ts_safetensors_writer_new ();
  g_autoptr (GError) error = NULL;
  float data[8] = { 0 };
  const int64_t s[] = { 2, 4 };
  g_assert_true (ts_safetensors_writer_add (w, "a", TS_DTYPE_F32, 2, s, data, &error));
  g_assert_true (ts_safetensors_writer_add (w, "b", TS_DTYPE_F32, 2, s, data, &error));
  g_autoptr (GBytes) whole = ts_safetensors_writer_to_bytes (w, &error);
  gsize size;
  const guint8 *raw = g_bytes_get_data (whole, &size);
  for (gsize n = 0; n < size; n++) {
    g_autoptr (GBytes) part = g_bytes_new (raw, n);
    g_autoptr (TsSafetensors) st = ts_safetensors_new_from_bytes (part, FILE_NAME, &error);
    g_assert_null (st);
    g_assert_error (error, TS_ERROR, TS_ERROR_CORRUPT);
    g_clear_error (&error);
  }
  g_autoptr (TsSafetensors) st = ts_safetensors_new_from_bytes (whole, FILE_NAME, &error);
  g_assert_no_error (error);
}

/* ---- configs -------------------------------------------------------------------------- */

typedef struct {
  const char   *name;
  TsFuzzConfig  kind;
  const char   *json;
  const char   *expect[2];
} ConfigCase;

static const ConfigCase config_cases[] = {
  { "scheduler-missing-mask-id", TS_FUZZ_CONFIG_SCHEDULER, "{\"masking_schedule\":\"cosine\"}",
    { "\"mask_token_id\" is missing" } },
  { "scheduler-bad-schedule", TS_FUZZ_CONFIG_SCHEDULER,
    "{\"mask_token_id\":3,\"masking_schedule\":\"sine\"}", { "masking_schedule", "sine" } },
  { "scheduler-negative-mask-id", TS_FUZZ_CONFIG_SCHEDULER, "{\"mask_token_id\":-1}",
    { "mask_token_id", "-1" } },
  { "uvit-negative-hidden", TS_FUZZ_CONFIG_UVIT, "{\"hidden_size\":-8}",
    { "\"hidden_size\" is -8", "positive" } },
  { "uvit-zero-layers-heads", TS_FUZZ_CONFIG_UVIT, "{\"num_attention_heads\":0}",
    { "num_attention_heads", "positive" } },
  { "uvit-heads-do-not-divide", TS_FUZZ_CONFIG_UVIT, "{\"hidden_size\":1000,\"num_attention_heads\":16}",
    { "\"hidden_size\" (1000) is not a multiple of num_attention_heads" } },
  { "uvit-block-heads-do-not-divide", TS_FUZZ_CONFIG_UVIT, "{\"block_num_heads\":7}",
    { "block_out_channels", "block_num_heads" } },
  { "uvit-string-size", TS_FUZZ_CONFIG_UVIT, "{\"hidden_size\":\"big\"}",
    { "\"hidden_size\"", "must be an integer, not a string" } },
  { "uvit-fractional-size", TS_FUZZ_CONFIG_UVIT, "{\"vocab_size\":8256.5}",
    { "\"vocab_size\"", "integer" } },
  { "uvit-huge-size", TS_FUZZ_CONFIG_UVIT, "{\"in_channels\":1099511627776}",
    { "\"in_channels\"", "must be in" } },
  { "uvit-micro-cond-mismatch", TS_FUZZ_CONFIG_UVIT, "{\"micro_cond_embed_dim\":1024}",
    { "micro_cond_embed_dim", "micro_cond_encode_dim" } },
  { "uvit-zero-eps", TS_FUZZ_CONFIG_UVIT, "{\"layer_norm_eps\":0}", { "layer_norm_eps" } },
  { "uvit-bool-as-string", TS_FUZZ_CONFIG_UVIT, "{\"downsample\":\"yes\"}",
    { "\"downsample\"", "true or false" } },
  { "uvit-wrong-class", TS_FUZZ_CONFIG_UVIT, "{\"_class_name\":\"UNet2DModel\"}",
    { "_class_name", "UVit2DModel" } },
  { "vq-groups-do-not-divide", TS_FUZZ_CONFIG_VQ, "{\"block_out_channels\":[8,12],"
    "\"down_block_types\":[\"DownEncoderBlock2D\",\"DownEncoderBlock2D\"],"
    "\"up_block_types\":[\"UpDecoderBlock2D\",\"UpDecoderBlock2D\"],\"norm_num_groups\":8}",
    { "entry 1 (12)", "norm_num_groups" } },
  { "vq-block-types-count", TS_FUZZ_CONFIG_VQ, "{\"block_out_channels\":[32,64],"
    "\"down_block_types\":[\"DownEncoderBlock2D\"]}", { "down_block_types", "lists 1 blocks" } },
  { "vq-unknown-block", TS_FUZZ_CONFIG_VQ, "{\"down_block_types\":[\"AttnDownEncoderBlock2D\"]}",
    { "down_block_types", "AttnDownEncoderBlock2D" } },
  { "vq-no-blocks", TS_FUZZ_CONFIG_VQ, "{\"block_out_channels\":[]}",
    { "block_out_channels", "1 to 8" } },
  { "vq-negative-channels", TS_FUZZ_CONFIG_VQ, "{\"block_out_channels\":[64,-64],"
    "\"down_block_types\":[\"DownEncoderBlock2D\",\"DownEncoderBlock2D\"],"
    "\"up_block_types\":[\"UpDecoderBlock2D\",\"UpDecoderBlock2D\"]}",
    { "block_out_channels", "positive" } },
  { "vq-zero-layers", TS_FUZZ_CONFIG_VQ, "{\"layers_per_block\":0}",
    { "layers_per_block", "positive" } },
  { "vq-act-fn", TS_FUZZ_CONFIG_VQ, "{\"act_fn\":\"relu\"}", { "act_fn", "relu" } },
  { "vq-spatial-norm", TS_FUZZ_CONFIG_VQ, "{\"norm_type\":\"spatial\"}", { "norm_type", "spatial" } },
  { "clip-act", TS_FUZZ_CONFIG_CLIP, "{\"hidden_act\":\"relu\"}", { "hidden_act", "relu" } },
  { "clip-zero-heads", TS_FUZZ_CONFIG_CLIP, "{\"num_attention_heads\":0}",
    { "num_attention_heads", "positive" } },
  { "clip-heads-do-not-divide", TS_FUZZ_CONFIG_CLIP, "{\"hidden_size\":768,\"num_attention_heads\":10}",
    { "hidden_size", "num_attention_heads" } },
  { "clip-negative-positions", TS_FUZZ_CONFIG_CLIP, "{\"max_position_embeddings\":-77}",
    { "max_position_embeddings", "positive" } },
  { "json-duplicate-key", TS_FUZZ_CONFIG_UVIT, "{\"hidden_size\":32,\"hidden_size\":64}",
    { "\"hidden_size\" appears twice" } },
  { "json-invalid", TS_FUZZ_CONFIG_VQ, "{\"block_out_channels\":[8,}", { "not valid JSON" } },
  { "json-not-object", TS_FUZZ_CONFIG_CLIP, "[]", { "not a JSON object" } },
  { "json-not-utf8", TS_FUZZ_CONFIG_SCHEDULER, "{\"mask_token_id\":1,\"x\":\"\xc3\x28\"}",
    { "not valid UTF-8" } },
};

static void
test_config_case (gconstpointer data)
{
  const ConfigCase *c = data;
  g_autoptr (GError) error = NULL;
  gboolean ok = ts_fuzz_parse_config (c->kind, c->json, strlen (c->json), "config.json", &error);
  g_assert_false (ok);
  g_assert_error (error, TS_ERROR, TS_ERROR_CORRUPT);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "config.json: "));
  for (guint i = 0; i < G_N_ELEMENTS (c->expect) && c->expect[i]; i++)
    if (!strstr (error->message, c->expect[i]))
      g_error ("message \"%s\" does not mention \"%s\"", error->message, c->expect[i]);
}

/* Defaults alone make valid configs (upstream constructors need no arguments), except the
 * scheduler, which has no default mask token. */
static void
test_config_defaults (void)
{
  g_autoptr (GError) error = NULL;
  for (int k = 0; k < TS_FUZZ_CONFIG_COUNT; k++) {
    gboolean ok = ts_fuzz_parse_config (k, "{}", 2, "config.json", &error);
    g_assert_true (ok == (k != TS_FUZZ_CONFIG_SCHEDULER));
    g_clear_error (&error);
  }
}

/* ---- corpus output -------------------------------------------------------------------- */

/* Valid inputs seed the fuzzers too: a file with every dtype, and the published configs. */
static void
write_valid_seeds (const char *st_dir, const char *cfg_dir)
{
  g_autoptr (TsSafetensorsWriter) w = ts_safetensors_writer_new ();
  const guint8 raw[16] = { 0, 0, 128, 63, 0, 0, 0, 64, 0, 60, 0, 192, 1, 2, 3, 4 };
  const int64_t s2[] = { 2 }, s22[] = { 2, 2 }, s0[] = { 0, 3 };
  const TsDType dtypes[] = { TS_DTYPE_F32, TS_DTYPE_F16, TS_DTYPE_BF16, TS_DTYPE_I32,
                             TS_DTYPE_I64, TS_DTYPE_U8 };
  for (guint i = 0; i < G_N_ELEMENTS (dtypes); i++) {
    g_autofree char *name = g_strdup_printf ("layer.%u.weight", i);
    ts_safetensors_writer_add (w, name, dtypes[i], i % 2 ? 2 : 1, i % 2 ? s22 : s2,
                               raw, NULL);
  }
  ts_safetensors_writer_add (w, "scalar", TS_DTYPE_F32, 0, NULL, raw, NULL);
  ts_safetensors_writer_add (w, "empty", TS_DTYPE_F32, 2, s0, raw, NULL);
  ts_safetensors_writer_set_metadata (w, "format", "pt");
  g_autoptr (GBytes) b = ts_safetensors_writer_to_bytes (w, NULL);
  g_autofree char *path = g_build_filename (st_dir, "valid-all-dtypes", NULL);
  g_file_set_contents (path, g_bytes_get_data (b, NULL), g_bytes_get_size (b), NULL);

  const struct { const char *file; TsFuzzConfig kind; } cfgs[] = {
    { "amused-512/transformer/config.json", TS_FUZZ_CONFIG_UVIT },
    { "amused-256/transformer/config.json", TS_FUZZ_CONFIG_UVIT },
    { "amused-512/vqvae/config.json", TS_FUZZ_CONFIG_VQ },
    { "other-sizes/vqvae/config.json", TS_FUZZ_CONFIG_VQ },
    { "amused-512/text_encoder/config.json", TS_FUZZ_CONFIG_CLIP },
    { "other-sizes/text_encoder/config.json", TS_FUZZ_CONFIG_CLIP },
    { "amused-512/scheduler/scheduler_config.json", TS_FUZZ_CONFIG_SCHEDULER },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cfgs); i++) {
    g_autofree char *from = g_build_filename (TESSERA_MODEL_FIXTURES, cfgs[i].file, NULL);
    g_autofree char *json = NULL;
    if (!g_file_get_contents (from, &json, NULL, NULL))
      continue;
    g_autofree char *name = g_strdelimit (g_strdup (cfgs[i].file), "/", '-');
    g_autofree char *to = g_build_filename (cfg_dir, name, NULL);
    g_autofree char *content = g_strdup_printf ("%c%s", (char) ('0' + cfgs[i].kind), json);
    g_file_set_contents (to, content, -1, NULL);
  }
}

static void
write_corpus (const char *dir, GPtrArray *st)
{
  g_autofree char *st_dir = g_build_filename (dir, "safetensors", NULL);
  g_autofree char *cfg_dir = g_build_filename (dir, "config", NULL);
  g_mkdir_with_parents (st_dir, 0755);
  g_mkdir_with_parents (cfg_dir, 0755);
  for (guint i = 0; i < st->len; i++) {
    const StCase *c = st->pdata[i];
    g_autofree char *path = g_build_filename (st_dir, c->name, NULL);
    gsize n;
    const char *d = g_bytes_get_data (c->bytes, &n);
    g_file_set_contents (path, d ? d : "", n, NULL);
  }
  for (guint i = 0; i < G_N_ELEMENTS (config_cases); i++) {
    const ConfigCase *c = &config_cases[i];
    g_autofree char *path = g_build_filename (cfg_dir, c->name, NULL);
    g_autofree char *content = g_strdup_printf ("%c%s", (char) ('0' + c->kind), c->json);
    g_file_set_contents (path, content, -1, NULL);
  }
  write_valid_seeds (st_dir, cfg_dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GPtrArray) st = st_cases ();
  g_ptr_array_set_free_func (st, NULL);
  for (guint i = 0; i < st->len; i++) {
    const StCase *c = st->pdata[i];
    g_autofree char *path = g_strdup_printf ("/malformed/safetensors/%s", c->name);
    g_test_add_data_func (path, c, test_safetensors_case);
  }
  g_test_add_func ("/malformed/safetensors/every-truncation", test_truncations);
  for (guint i = 0; i < G_N_ELEMENTS (config_cases); i++) {
    g_autofree char *path = g_strdup_printf ("/malformed/config/%s", config_cases[i].name);
    g_test_add_data_func (path, &config_cases[i], test_config_case);
  }
  g_test_add_func ("/malformed/config/defaults-are-valid", test_config_defaults);

  const char *corpus = g_getenv ("TESSERA_WRITE_CORPUS");
  if (corpus)
    write_corpus (corpus, st);
  int rc = g_test_run ();
  for (guint i = 0; i < st->len; i++) {
    StCase *c = st->pdata[i];
    g_bytes_unref (c->bytes);
    g_free (c);
  }
  return rc;
}
