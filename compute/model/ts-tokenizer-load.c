/* ts-tokenizer-load.c — building a tokenizer from vocab.json, merges.txt and the
 * transformers tokenizer configs. */
#include "ts-tokenizer-private.h"
#include "ts-json-reader.h"

#include <string.h>

#define CLIP_BOS "<|startoftext|>"
#define CLIP_EOS "<|endoftext|>"
#define CLIP_MAX_LENGTH 77
/* CLIPTokenizer reads merges.txt lines 1 .. 49152-256-2 (line 0 is a version comment). */
#define CLIP_MAX_MERGES (49152 - 256 - 2)
#define MAX_VOCAB_FILE (64 * 1024 * 1024)
#define MAX_CONFIG_FILE (4 * 1024 * 1024)

static gboolean G_GNUC_PRINTF (3, 4)
fail (GError **error, const TsTokenizer *tok, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT, "%s: %s", tok->label, msg);
  return FALSE;
}

gboolean
ts_tokenizer_load_vocab (TsTokenizer *tok, const char *json, gsize len, GError **error)
{
  g_autofree char *file = g_strdup_printf ("%s/vocab.json", tok->label);
  JsonObject *root;
  g_autoptr (JsonParser) parser = ts_json_parse_object (json, len, file, &root, error);
  if (!parser)
    return FALSE;
  JsonObjectIter iter;
  const char *token;
  JsonNode *value;
  json_object_iter_init (&iter, root);
  while (json_object_iter_next (&iter, &token, &value)) {
    if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_INT64 ||
        json_node_get_int (value) < 0 || json_node_get_int (value) >= TS_TOKENIZER_MAX_ID) {
      g_autofree char *shown = g_strescape (token, NULL);
      return fail (error, tok, "vocab.json: token \"%s\" has no valid id (0..%d)", shown,
                   TS_TOKENIZER_MAX_ID - 1);
    }
    if (!*token || !g_utf8_validate (token, -1, NULL))
      return fail (error, tok, "vocab.json: a token is empty or not valid UTF-8");
    int64_t id = json_node_get_int (value);
    g_hash_table_insert (tok->vocab, g_strdup (token), GINT_TO_POINTER ((int) id + 1));
    tok->vocab_size = MAX (tok->vocab_size, id + 1);
  }
  if (g_hash_table_size (tok->vocab) == 0)
    return fail (error, tok, "vocab.json is empty");
  return TRUE;
}

/* Python's str.strip().split("\n")[1:CLIP_MAX_MERGES + 1], each line split at whitespace;
 * only two-part lines can ever match a pair, but every line keeps its rank. A repeated pair
 * keeps its last rank, as a Python dict built from the list does. */
gboolean
ts_tokenizer_load_merges (TsTokenizer *tok, const char *text, gsize len, GError **error)
{
  if (!g_utf8_validate_len (text, len, NULL))
    return fail (error, tok, "merges.txt is not valid UTF-8");
  g_autofree char *copy = g_strndup (text, len);
  if (strlen (copy) != len)
    return fail (error, tok, "merges.txt contains a NUL byte");
  g_strstrip (copy);
  g_auto (GStrv) lines = g_strsplit (copy, "\n", CLIP_MAX_MERGES + 2);
  guint n = g_strv_length (lines);
  for (guint i = 1; i < n && i <= CLIP_MAX_MERGES; i++) {
    g_auto (GStrv) parts = g_strsplit_set (lines[i], " \t\r\v\f", -1);
    const char *pair[3] = { NULL, NULL, NULL };
    guint k = 0;
    for (guint j = 0; parts[j] && k < 3; j++)
      if (*parts[j])
        pair[k++] = parts[j];
    if (k != 2)
      continue;
    char *key = g_strconcat (pair[0], " ", pair[1], NULL);
    g_hash_table_insert (tok->ranks, key, GINT_TO_POINTER ((int) i));
  }
  return TRUE;
}

static gint
longest_first (gconstpointer a, gconstpointer b)
{
  const TsAddedToken *x = *(TsAddedToken *const *) a, *y = *(TsAddedToken *const *) b;
  size_t lx = strlen (x->content), ly = strlen (y->content);
  return lx == ly ? strcmp (x->content, y->content) : (lx > ly ? -1 : 1);
}

gboolean
ts_tokenizer_add_token (TsTokenizer *tok, const char *content, int64_t id, gboolean lstrip,
                        gboolean rstrip, gboolean single_word, GError **error)
{
  if (!content || !*content || !g_utf8_validate (content, -1, NULL))
    return fail (error, tok, "an added token is empty or not valid UTF-8");
  if (id < 0) {
    gpointer v = g_hash_table_lookup (tok->vocab, content);
    if (!v) {
      g_autofree char *shown = g_strescape (content, NULL);
      return fail (error, tok, "special token \"%s\" is not in the vocabulary", shown);
    }
    id = GPOINTER_TO_INT (v) - 1;
  }
  if (id >= TS_TOKENIZER_MAX_ID)
    return fail (error, tok, "added token id %" G_GINT64_FORMAT " is too large", id);
  TsAddedToken *t = g_hash_table_lookup (tok->added_ids, content);
  if (!t) {
    t = g_new0 (TsAddedToken, 1);
    t->content = g_strdup (content);
    g_ptr_array_add (tok->added, t);
    g_hash_table_insert (tok->added_ids, t->content, t);
  }
  t->id = id;
  t->lstrip = lstrip;
  t->rstrip = rstrip;
  t->single_word = single_word;
  tok->vocab_size = MAX (tok->vocab_size, id + 1);
  return TRUE;
}

/* The id of a special token, adding it to the never-split set if it is not there yet. */
static gboolean
resolve_special (TsTokenizer *tok, const char *content, int64_t *id, GError **error)
{
  TsAddedToken *t = g_hash_table_lookup (tok->added_ids, content);
  if (!t) {
    if (!ts_tokenizer_add_token (tok, content, -1, FALSE, FALSE, FALSE, error))
      return FALSE;
    t = g_hash_table_lookup (tok->added_ids, content);
  }
  *id = t->id;
  return TRUE;
}

gboolean
ts_tokenizer_finish (TsTokenizer *tok, const TsTokenizerOptions *o, GError **error)
{
  TsTokenizerOptions defaults = { 0 };
  if (!o)
    o = &defaults;
  const char *pad = o->pad_token ? o->pad_token : CLIP_EOS;
  if (!resolve_special (tok, o->bos_token ? o->bos_token : CLIP_BOS, &tok->bos_id, error) ||
      !resolve_special (tok, o->eos_token ? o->eos_token : CLIP_EOS, &tok->eos_id, error) ||
      !resolve_special (tok, o->unk_token ? o->unk_token : CLIP_EOS, &tok->unk_id, error) ||
      !resolve_special (tok, pad, &tok->pad_id, error))
    return FALSE;
  for (guint i = 0; o->extra_special_tokens && o->extra_special_tokens[i]; i++) {
    int64_t unused;
    if (!resolve_special (tok, o->extra_special_tokens[i], &unused, error))
      return FALSE;
  }
  tok->pad_token = g_strdup (pad);
  tok->model_max_length = o->model_max_length > 0 ? o->model_max_length : CLIP_MAX_LENGTH;
  g_ptr_array_sort (tok->added, longest_first);
  return TRUE;
}

TsTokenizer *
ts_tokenizer_new_from_data (const char *vocab_json, gsize vocab_len, const char *merges,
                            gsize merges_len, const TsTokenizerOptions *options,
                            const char *label, GError **error)
{
  TsTokenizer *tok = ts_tokenizer_alloc (label ? label : "tokenizer", error);
  if (!tok)
    return NULL;
  if (!ts_tokenizer_load_vocab (tok, vocab_json, vocab_len, error) ||
      !ts_tokenizer_load_merges (tok, merges, merges_len, error) ||
      !ts_tokenizer_finish (tok, options, error)) {
    ts_tokenizer_free (tok);
    return NULL;
  }
  return tok;
}

static GMappedFile *
map_file (const char *path, gsize max, GError **error)
{
  GError *io_error = NULL;
  GMappedFile *mf = g_mapped_file_new (path, FALSE, &io_error);
  if (!mf) {
    g_set_error (error, TS_ERROR, TS_ERROR_IO, "%s", io_error->message);
    g_error_free (io_error);
    return NULL;
  }
  if (g_mapped_file_get_length (mf) > max) {
    g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT, "%s is too large", path);
    g_mapped_file_unref (mf);
    return NULL;
  }
  return mf;
}

static const char *
contents (GMappedFile *mf)
{
  const char *c = g_mapped_file_get_contents (mf);
  return c ? c : "";
}

static gboolean
load_tables (TsTokenizer *tok, const char *vocab_path, const char *merges_path, GError **error)
{
  g_autoptr (GMappedFile) vocab = map_file (vocab_path, MAX_VOCAB_FILE, error);
  if (!vocab)
    return FALSE;
  g_autoptr (GMappedFile) merges = map_file (merges_path, MAX_VOCAB_FILE, error);
  if (!merges)
    return FALSE;
  return ts_tokenizer_load_vocab (tok, contents (vocab), g_mapped_file_get_length (vocab),
                                  error) &&
         ts_tokenizer_load_merges (tok, contents (merges), g_mapped_file_get_length (merges),
                                   error);
}

TsTokenizer *
ts_tokenizer_new (const char *vocab_path, const char *merges_path,
                  const TsTokenizerOptions *options, GError **error)
{
  g_autofree char *label = g_path_get_dirname (vocab_path);
  TsTokenizer *tok = ts_tokenizer_alloc (label, error);
  if (tok && (!load_tables (tok, vocab_path, merges_path, error) ||
              !ts_tokenizer_finish (tok, options, error)))
    g_clear_pointer (&tok, ts_tokenizer_free);
  return tok;
}

/* ---- tokenizer_config.json / special_tokens_map.json ---------------------------------- */

/* What the two config files say, with strings owned by their parsers. */
typedef struct {
  JsonParser *config, *map;
  const char *bos, *eos, *unk, *pad;
  GPtrArray  *extra;             /* const char*, NULL-terminated at the end */
  int         model_max_length;
} TokenizerFiles;

/* A token given as "text" or {"content": "text", ...}; NULL when absent or null. */
static gboolean
read_token (TsJsonReader *r, const char *key, const char **out)
{
  JsonNode *node = json_object_get_member (r->object, key);
  if (!node || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (JSON_NODE_HOLDS_OBJECT (node)) {
    TsJsonReader inner;
    ts_json_reader_init (&inner, r->file, json_node_get_object (node), r->error);
    r->failed = !ts_json_read_string (&inner, "content", TRUE, NULL, out);
    return !r->failed;
  }
  return ts_json_read_string (r, key, FALSE, NULL, out);
}

/* Added tokens of tokenizer_config.json: {"<id>": {"content": ..., "lstrip": ...}}. */
static gboolean
read_added_tokens (TsTokenizer *tok, TsJsonReader *r, GError **error)
{
  JsonNode *node = json_object_get_member (r->object, "added_tokens_decoder");
  if (!node || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return ts_json_reader_fail (r, "added_tokens_decoder", "must be an object");
  JsonObjectIter iter;
  const char *key;
  JsonNode *entry;
  json_object_iter_init (&iter, json_node_get_object (node));
  while (json_object_iter_next (&iter, &key, &entry)) {
    guint64 id;
    if (!g_ascii_string_to_unsigned (key, 10, 0, TS_TOKENIZER_MAX_ID - 1, &id, NULL) ||
        !JSON_NODE_HOLDS_OBJECT (entry))
      return ts_json_reader_fail (r, "added_tokens_decoder", "has an invalid entry \"%s\"", key);
    TsJsonReader e;
    const char *content = NULL;
    gboolean lstrip, rstrip, single_word;
    ts_json_reader_init (&e, r->file, json_node_get_object (entry), error);
    r->failed = !ts_json_read_string (&e, "content", TRUE, NULL, &content) ||
                !ts_json_read_bool (&e, "lstrip", FALSE, &lstrip) ||
                !ts_json_read_bool (&e, "rstrip", FALSE, &rstrip) ||
                !ts_json_read_bool (&e, "single_word", FALSE, &single_word) ||
                !ts_tokenizer_add_token (tok, content, (int64_t) id, lstrip, rstrip,
                                         single_word, error);
    if (r->failed)
      return FALSE;
  }
  return TRUE;
}

static gboolean
read_token_keys (TsJsonReader *r, TokenizerFiles *f)
{
  if (!read_token (r, "bos_token", &f->bos) || !read_token (r, "eos_token", &f->eos) ||
      !read_token (r, "unk_token", &f->unk) || !read_token (r, "pad_token", &f->pad))
    return FALSE;
  JsonNode *extra = json_object_get_member (r->object, "additional_special_tokens");
  if (!extra || !JSON_NODE_HOLDS_ARRAY (extra))
    return TRUE;
  JsonArray *a = json_node_get_array (extra);
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonNode *e = json_array_get_element (a, i);
    if (JSON_NODE_HOLDS_OBJECT (e)) {
      JsonNode *c = json_object_get_member (json_node_get_object (e), "content");
      e = c;
    }
    if (!e || !JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
      return ts_json_reader_fail (r, "additional_special_tokens", "entry %u is not a token", i);
    g_ptr_array_add (f->extra, (gpointer) json_node_get_string (e));
  }
  return TRUE;
}

static gboolean
read_config_files (TsTokenizer *tok, const char *dir, TokenizerFiles *f, GError **error)
{
  g_autofree char *config_path = g_build_filename (dir, "tokenizer_config.json", NULL);
  g_autofree char *map_path = g_build_filename (dir, "special_tokens_map.json", NULL);
  g_autofree char *config_name = g_strdup_printf ("%s/tokenizer_config.json", tok->label);
  g_autofree char *map_name = g_strdup_printf ("%s/special_tokens_map.json", tok->label);
  TsJsonReader r;
  JsonObject *obj;
  if (g_file_test (config_path, G_FILE_TEST_EXISTS)) {
    f->config = ts_json_load_object (config_path, MAX_CONFIG_FILE, config_name, &obj, error);
    if (!f->config)
      return FALSE;
    ts_json_reader_init (&r, config_name, obj, error);
    int64_t max_len = 0;
    JsonNode *ml = json_object_get_member (obj, "model_max_length");
    /* transformers writes a huge float here when it has no limit: then CLIP's 77 applies */
    if (ml && JSON_NODE_HOLDS_VALUE (ml) && json_node_get_value_type (ml) == G_TYPE_INT64)
      max_len = json_node_get_int (ml);
    f->model_max_length = max_len >= 2 && max_len <= 65536 ? (int) max_len : 0;
    if (!read_added_tokens (tok, &r, error) || !read_token_keys (&r, f))
      return FALSE;
  }
  /* special_tokens_map.json wins over tokenizer_config.json, as in transformers */
  if (g_file_test (map_path, G_FILE_TEST_EXISTS)) {
    f->map = ts_json_load_object (map_path, MAX_CONFIG_FILE, map_name, &obj, error);
    if (!f->map)
      return FALSE;
    ts_json_reader_init (&r, map_name, obj, error);
    if (!read_token_keys (&r, f))
      return FALSE;
  }
  return TRUE;
}

TsTokenizer *
ts_tokenizer_new_from_dir (const char *dir, GError **error)
{
  g_autofree char *vocab_path = g_build_filename (dir, "vocab.json", NULL);
  g_autofree char *merges_path = g_build_filename (dir, "merges.txt", NULL);
  TsTokenizer *tok = ts_tokenizer_alloc (dir, error);
  if (!tok)
    return NULL;
  TokenizerFiles f = { .extra = g_ptr_array_new () };
  gboolean ok = load_tables (tok, vocab_path, merges_path, error) &&
                read_config_files (tok, dir, &f, error);
  if (ok) {
    g_ptr_array_add (f.extra, NULL);
    TsTokenizerOptions o = {
      .bos_token = f.bos, .eos_token = f.eos, .unk_token = f.unk, .pad_token = f.pad,
      .extra_special_tokens = (const char *const *) f.extra->pdata,
      .model_max_length = f.model_max_length,
    };
    ok = ts_tokenizer_finish (tok, &o, error);
  }
  g_ptr_array_unref (f.extra);
  g_clear_object (&f.config);
  g_clear_object (&f.map);
  if (!ok)
    g_clear_pointer (&tok, ts_tokenizer_free);
  return tok;
}
