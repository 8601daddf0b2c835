/* golden-tokenizer.c — the "tokenizer" cases: every prompt through our tokenizer, compared
 * with transformers' input ids, attention masks and untruncated lengths.
 *
 * Variants: "noftfy" is the amused tokenizer folder as saved (pad "!" special), "..._plainclip"
 * is CLIPTokenizer's defaults on the same vocab and merges. The "ftfy" variants need ftfy's
 * fix_text, which Tessera does not implement: they are listed, not compared. */
#include "golden.h"
#include "model/ts-tokenizer.h"

#include <string.h>

#define MAX_LENGTH 77

typedef struct {
  const char   *variant;
  TsTokenizer  *tok;
  JsonArray    *cases_json; /* tokenizer_cases.json (BPE strings), for diagnostics */
} Variant;

static char *
show_tokens (const TsTokenizer *tok, const char *prompt)
{
  g_auto (GStrv) t = ts_tokenizer_tokenize (tok, prompt, NULL);
  return t ? g_strjoinv (" ", t) : g_strdup ("(error)");
}

static char *
expected_tokens (const Variant *v, guint index)
{
  if (!v->cases_json || index >= json_array_get_length (v->cases_json))
    return g_strdup ("?");
  JsonObject *c = json_array_get_object_element (v->cases_json, index);
  g_autofree char *key = g_strdup_printf ("bpe_%s", v->variant);
  JsonNode *bpe = json_object_get_member (c, key);
  if (!bpe || !JSON_NODE_HOLDS_ARRAY (bpe))
    return g_strdup ("(not listed)");
  GString *s = g_string_new (NULL);
  JsonArray *a = json_node_get_array (bpe);
  for (guint i = 0; i < json_array_get_length (a); i++)
    g_string_append_printf (s, "%s%s", i ? " " : "", json_array_get_string_element (a, i));
  return g_string_free (s, FALSE);
}

/* Runs one variant over all prompts; TRUE when every prompt matches. */
static gboolean
run_variant (GoldenCase *gc, const Variant *v, const char *text, const int64_t *offsets,
             guint n_prompts)
{
  g_autofree char *ids_name = g_strdup_printf ("input_ids_%s", v->variant);
  g_autofree char *mask_name = g_strdup_printf ("attention_mask_%s", v->variant);
  g_autofree char *len_name = g_strdup_printf ("n_tokens_untruncated_%s", v->variant);
  guint64 n_ids, n_mask, n_len;
  g_autofree int64_t *ref_ids = golden_read (gc, ids_name, TS_DTYPE_I64, &n_ids);
  g_autofree int64_t *ref_mask = golden_read (gc, mask_name, TS_DTYPE_I64, &n_mask);
  g_autofree int64_t *ref_len = golden_read (gc, len_name, TS_DTYPE_I64, &n_len);
  g_assert_cmpuint (n_ids, ==, (guint64) n_prompts * MAX_LENGTH);
  g_assert_cmpuint (n_mask, ==, n_ids);
  g_assert_cmpuint (n_len, ==, n_prompts);

  g_autofree int64_t *ids = g_new (int64_t, n_ids);
  g_autofree int64_t *mask = g_new (int64_t, n_ids);
  g_autofree int64_t *len = g_new (int64_t, n_prompts);
  guint exact = 0;
  for (guint i = 0; i < n_prompts; i++) {
    g_autofree char *prompt = g_strndup (text + offsets[i], offsets[i + 1] - offsets[i]);
    g_autoptr (GError) error = NULL;
    int n = 0;
    g_assert_true (ts_tokenizer_encode (v->tok, prompt, MAX_LENGTH, ids + i * MAX_LENGTH,
                                        mask + i * MAX_LENGTH, &n, &error));
    g_assert_no_error (error);
    len[i] = n;
    size_t row = sizeof (int64_t) * MAX_LENGTH;
    gboolean same = len[i] == ref_len[i] &&
                    memcmp (ids + i * MAX_LENGTH, ref_ids + i * MAX_LENGTH, row) == 0 &&
                    memcmp (mask + i * MAX_LENGTH, ref_mask + i * MAX_LENGTH, row) == 0;
    if (same) {
      exact++;
      continue;
    }
    g_autofree char *escaped = g_strescape (prompt, NULL);
    g_autofree char *got = show_tokens (v->tok, prompt);
    g_autofree char *want = expected_tokens (v, i);
    g_test_message ("%s %s prompt %u \"%s\": got [%s], expected [%s]", gc->name, v->variant, i,
                    escaped, got, want);
  }

  GoldenStats st;
  gboolean ok = golden_compare_i64 (gc, ids_name, ids, ref_ids, n_ids, &st);
  g_autofree char *summary = g_strdup_printf ("%u/%u prompts exact", exact, n_prompts);
  golden_report (gc, &st, summary);
  ok &= golden_compare_i64 (gc, mask_name, mask, ref_mask, n_mask, &st);
  golden_report (gc, &st, NULL);
  ok &= golden_compare_i64 (gc, len_name, len, ref_len, n_len, &st);
  golden_report (gc, &st, NULL);
  return ok && exact == n_prompts;
}

/* The case's .json file (the BPE strings), as its "files" list names it. */
static JsonParser *
load_cases_json (GoldenCase *gc, JsonArray **cases)
{
  JsonArray *files = json_object_get_array_member (gc->spec, "files");
  const char *json = NULL;
  for (guint i = 0; files && i < json_array_get_length (files); i++)
    if (g_str_has_suffix (json_array_get_string_element (files, i), ".json"))
      json = json_array_get_string_element (files, i);
  g_autofree char *path = json ? golden_path (gc, json) : NULL;
  JsonParser *p = json_parser_new ();
  *cases = NULL;
  if (path && json_parser_load_from_file (p, path, NULL) &&
      JSON_NODE_HOLDS_ARRAY (json_parser_get_root (p)))
    *cases = json_node_get_array (json_parser_get_root (p));
  return p;
}

void
golden_run_tokenizer (GoldenCase *gc)
{
  /* the tokenizer files are the tiny model's */
  JsonObject *tiny = json_object_get_object_member (gc->manifest, "tiny_model");
  g_autofree char *model = golden_path (gc, json_object_get_string_member (tiny, "dir"));
  g_autofree char *dir = g_build_filename (model, "tokenizer", NULL);
  g_autofree char *vocab = g_build_filename (dir, "vocab.json", NULL);
  g_autofree char *merges = g_build_filename (dir, "merges.txt", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsTokenizer) amused = ts_tokenizer_new_from_dir (dir, &error);
  g_assert_no_error (error);
  g_autoptr (TsTokenizer) plain = ts_tokenizer_new (vocab, merges, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ts_tokenizer_pad_id (amused), ==,
                   json_object_get_int_member (gc->spec, "pad_token_id"));
  g_assert_cmpstr (ts_tokenizer_pad_token (amused), ==,
                   json_object_get_string_member (gc->spec, "pad_token"));

  guint64 n_text, n_offsets;
  g_autofree char *text = golden_read (gc, "prompt_utf8", TS_DTYPE_U8, &n_text);
  g_autofree int64_t *offsets = golden_read (gc, "prompt_offsets", TS_DTYPE_I64, &n_offsets);
  guint n_prompts = (guint) n_offsets - 1;
  for (guint i = 0; i < n_prompts; i++)
    g_assert_true (offsets[i] >= 0 && offsets[i] <= offsets[i + 1] &&
                   (guint64) offsets[i + 1] <= n_text);

  JsonArray *cases = NULL;
  g_autoptr (JsonParser) cases_parser = load_cases_json (gc, &cases);
  const Variant variants[] = {
    { "noftfy", amused, cases },
    { "noftfy_plainclip", plain, cases },
  };
  gboolean ok = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
    ok &= run_variant (gc, &variants[i], text, offsets, n_prompts);

  JsonArray *listed = json_object_get_array_member (gc->spec, "variants");
  for (guint i = 0; i < json_array_get_length (listed); i++) {
    const char *name = json_array_get_string_element (listed, i);
    if (!g_str_has_prefix (name, "noftfy"))
      g_test_message ("%s: variant %s not compared (it needs ftfy.fix_text, which Tessera "
                      "does not implement; the pipeline default has no ftfy)", gc->name, name);
  }
  g_assert_true (ok);
}
