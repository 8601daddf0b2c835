/* synthetic-model.c — random-weight model folders (see synthetic-model.h). */
#include "synthetic-model.h"
#include "model/ts-model-config.h"
#include "model/ts-safetensors-writer.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

typedef struct {
  guint64 state;
  float   offset, scale;
  TsDType dtype;
} FillState;

/* xorshift64*: fast, and good enough for weights nobody will look at. */
static inline guint64
next_random (guint64 *s)
{
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545F4914F6CDD1DULL;
}

static gboolean
fill_random (void *dst, size_t size, gpointer user_data, GError **error)
{
  FillState *f = user_data;
  size_t n = size / ts_dtype_size (f->dtype);
  float chunk[1024];
  for (size_t done = 0; done < n;) {
    size_t m = MIN (n - done, G_N_ELEMENTS (chunk));
    for (size_t i = 0; i < m; i++) {
      double u = (double) (next_random (&f->state) >> 11) / (double) (1ULL << 53);
      chunk[i] = f->offset + f->scale * (float) (2.0 * u - 1.0);
    }
    ts_convert (chunk, TS_DTYPE_F32, (char *) dst + done * ts_dtype_size (f->dtype), f->dtype, m);
    done += m;
  }
  return TRUE;
}

static gboolean
is_scale_weight (const TsWeightSpec *s)
{
  return (s->ndim == 1 && g_str_has_suffix (s->name, ".weight") && strstr (s->name, "norm")) ||
         g_str_has_suffix (s->name, ".gamma");
}

gboolean
synth_write_weights (const char *path, const GPtrArray *specs, TsDType dtype, guint32 seed,
                     GError **error)
{
  g_autoptr (TsSafetensorsWriter) w = ts_safetensors_writer_new ();
  ts_safetensors_writer_set_metadata (w, "format", "pt");
  for (guint i = 0; i < specs->len; i++) {
    const TsWeightSpec *s = specs->pdata[i];
    FillState *f = g_new (FillState, 1);
    f->state = ((guint64) seed << 32 | i) * 0x9E3779B97F4A7C15ULL + 1;
    f->offset = is_scale_weight (s) ? 1.0f : 0.0f;
    f->scale = is_scale_weight (s) ? 0.1f : 0.05f;
    f->dtype = dtype;
    if (!ts_safetensors_writer_add_fill (w, s->name, dtype, s->ndim, s->shape, fill_random, f,
                                         g_free, error))
      return FALSE;
  }
  return ts_safetensors_writer_write (w, path, error);
}

/* ---- tokenizer ------------------------------------------------------------------------ */

/* GPT-2's byte → character table, written out independently of the tokenizer's own. */
static gunichar
byte_char (int b)
{
  if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))
    return (gunichar) b;
  int n = 0;
  for (int x = 0; x < b; x++)
    if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF)))
      n++;
  return 0x100 + (gunichar) n;
}

static void
json_string (GString *out, const char *s)
{
  g_autoptr (JsonNode) node = json_node_init_string (json_node_alloc (), s);
  g_autofree char *text = json_to_string (node, FALSE);
  g_string_append (out, text);
}

gboolean
synth_write_tokenizer (const char *dir, const char *pad_token, GError **error)
{
  static const char *const merges[][2] = {
    { "h", "e" }, { "l", "l" }, { "he", "ll" }, { "hell", "o</w>" }, { "c", "a" }, { "ca", "t</w>" },
  };
  g_mkdir_with_parents (dir, 0755);
  GString *vocab = g_string_new ("{");
  GString *merge_text = g_string_new ("#version: 0.2\n");
  int id = 0;
  for (int suffix = 0; suffix < 2; suffix++)
    for (int b = 0; b < 256; b++) {
      char utf8[8] = { 0 };
      g_unichar_to_utf8 (byte_char (b), utf8);
      g_autofree char *tok = g_strconcat (utf8, suffix ? "</w>" : "", NULL);
      json_string (vocab, tok);
      g_string_append_printf (vocab, ":%d,", id++);
    }
  for (guint i = 0; i < G_N_ELEMENTS (merges); i++) {
    g_autofree char *joined = g_strconcat (merges[i][0], merges[i][1], NULL);
    json_string (vocab, joined);
    g_string_append_printf (vocab, ":%d,", id++);
    g_string_append_printf (merge_text, "%s %s\n", merges[i][0], merges[i][1]);
  }
  g_string_append_printf (vocab, "\"<|startoftext|>\":%d,\"<|endoftext|>\":%d}", id, id + 1);

  GString *config = g_string_new ("{\"model_max_length\":77,\"pad_token\":");
  json_string (config, pad_token);
  g_string_append (config, ",\"bos_token\":\"<|startoftext|>\",\"eos_token\":\"<|endoftext|>\"}");

  g_autofree char *vp = g_build_filename (dir, "vocab.json", NULL);
  g_autofree char *mp = g_build_filename (dir, "merges.txt", NULL);
  g_autofree char *cp = g_build_filename (dir, "tokenizer_config.json", NULL);
  gboolean ok = g_file_set_contents (vp, vocab->str, -1, error) &&
                g_file_set_contents (mp, merge_text->str, -1, error) &&
                g_file_set_contents (cp, config->str, -1, error);
  g_string_free (vocab, TRUE);
  g_string_free (merge_text, TRUE);
  g_string_free (config, TRUE);
  return ok;
}

/* ---- folders -------------------------------------------------------------------------- */

static gboolean
copy_file (const char *from_dir, const char *to_dir, const char *name, GError **error)
{
  g_autofree char *from = g_build_filename (from_dir, name, NULL);
  g_autofree char *to = g_build_filename (to_dir, name, NULL);
  g_autofree char *to_parent = g_path_get_dirname (to);
  g_autofree char *data = NULL;
  gsize len;
  g_mkdir_with_parents (to_parent, 0755);
  return g_file_get_contents (from, &data, &len, error) &&
         g_file_set_contents (to, data, (gssize) len, error);
}

static char *
weights_path (const char *dir, const char *component, const char *base, const char *variant)
{
  g_autofree char *file = variant ? g_strdup_printf ("%s.%s.safetensors", base, variant)
                                  : g_strdup_printf ("%s.safetensors", base);
  return g_build_filename (dir, component, file, NULL);
}

gboolean
synth_write_folder (const char *dir, const char *config_dir, const char *tokenizer_dir,
                    TsDType dtype, const char *variant, guint32 seed, GError **error)
{
  const char *configs[] = { "model_index.json", "transformer/config.json", "vqvae/config.json",
                            "text_encoder/config.json", "scheduler/scheduler_config.json" };
  for (guint i = 0; i < G_N_ELEMENTS (configs); i++)
    if (!copy_file (config_dir, dir, configs[i], error))
      return FALSE;
  g_autofree char *tok_dir = g_build_filename (dir, "tokenizer", NULL);
  if (tokenizer_dir) {
    const char *files[] = { "vocab.json", "merges.txt", "tokenizer_config.json",
                            "special_tokens_map.json" };
    for (guint i = 0; i < G_N_ELEMENTS (files); i++)
      if (!copy_file (tokenizer_dir, tok_dir, files[i], error))
        return FALSE;
  } else if (!synth_write_tokenizer (tok_dir, "<|endoftext|>", error)) {
    return FALSE;
  }

  g_autofree char *tr_cfg = g_build_filename (dir, "transformer", "config.json", NULL);
  g_autofree char *vq_cfg = g_build_filename (dir, "vqvae", "config.json", NULL);
  g_autofree char *te_cfg = g_build_filename (dir, "text_encoder", "config.json", NULL);
  TsUVitConfig tr;
  TsVQConfig vq;
  TsClipTextConfig te;
  if (!ts_uvit_config_load (tr_cfg, NULL, &tr, error) ||
      !ts_vq_config_load (vq_cfg, NULL, &vq, error) ||
      !ts_clip_text_config_load (te_cfg, NULL, &te, error))
    return FALSE;
  g_autoptr (GPtrArray) tr_specs = ts_uvit_weight_specs (&tr);
  g_autoptr (GPtrArray) vq_specs = ts_vq_weight_specs (&vq);
  g_autoptr (GPtrArray) te_specs = ts_clip_text_weight_specs (&te);
  g_autofree char *tr_path = weights_path (dir, "transformer", "diffusion_pytorch_model", variant);
  g_autofree char *vq_path = weights_path (dir, "vqvae", "diffusion_pytorch_model", variant);
  g_autofree char *te_path = weights_path (dir, "text_encoder", "model", variant);
  return synth_write_weights (tr_path, tr_specs, dtype, seed, error) &&
         synth_write_weights (vq_path, vq_specs, dtype, seed + 1, error) &&
         synth_write_weights (te_path, te_specs, dtype, seed + 2, error);
}

void
synth_remove_tree (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  if (d) {
    const char *name;
    while ((name = g_dir_read_name (d))) {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        synth_remove_tree (path);
      else
        g_unlink (path);
    }
    g_dir_close (d);
  }
  g_rmdir (dir);
}
