/* ts-json-reader.c — strict JSON parsing and typed config reading. */
#include "ts-json-reader.h"

#include <math.h>
#include <string.h>

/* ---- parsing -------------------------------------------------------------------------- */

/* json-glib keeps the last of two equal keys silently. Every member of every object has one
 * ':' outside strings, so more of those than members in the tree means a repeated key. Only
 * then is the file parsed again, slowly, with the parser's object-member signal (a few µs per
 * member: too slow for a 49408-entry vocab.json every time) to find the name; that second
 * parse decides (a ':' in a comment would only cost the time). */
static guint64
count_members (const char *json, gsize len)
{
  guint64 n = 0;
  gboolean in_string = FALSE;
  for (gsize i = 0; i < len; i++) {
    char c = json[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == ':') {
      n++;
    }
  }
  return n;
}

static guint64
tree_members (JsonNode *node)
{
  guint64 n = 0;
  if (JSON_NODE_HOLDS_OBJECT (node)) {
    JsonObjectIter iter;
    JsonNode *child;
    json_object_iter_init (&iter, json_node_get_object (node));
    while (json_object_iter_next (&iter, NULL, &child))
      n += 1 + tree_members (child);
  } else if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *a = json_node_get_array (node);
    for (guint i = 0; i < json_array_get_length (a); i++)
      n += tree_members (json_array_get_element (a, i));
  }
  return n;
}

typedef struct {
  GHashTable *seen;      /* JsonObject* → set of member names */
  char       *duplicate;
} DupCheck;

static void
find_duplicate (JsonParser *parser, JsonObject *object, const char *name, DupCheck *dc)
{
  if (dc->duplicate)
    return;
  GHashTable *names = g_hash_table_lookup (dc->seen, object);
  if (!names) {
    names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_insert (dc->seen, object, names);
  }
  if (!g_hash_table_add (names, g_strdup (name)))
    dc->duplicate = g_strdup (name);
}

static char *
duplicate_name (const char *json, gsize len)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  DupCheck dc = { g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_hash_table_unref),
                  NULL };
  g_signal_connect (parser, "object-member", G_CALLBACK (find_duplicate), &dc);
  json_parser_load_from_data (parser, json, (gssize) len, NULL);
  g_signal_handlers_disconnect_by_data (parser, &dc);
  g_hash_table_unref (dc.seen);
  return dc.duplicate;
}

JsonParser *
ts_json_parse_strict (const char *json, gsize len, char **duplicate, GError **json_error)
{
  *duplicate = NULL;
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, json, (gssize) len, json_error))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  if (root && tree_members (root) != count_members (json, len)) {
    *duplicate = duplicate_name (json, len);
    if (*duplicate)
      return NULL;
  }
  return g_steal_pointer (&parser);
}

JsonParser *
ts_json_parse_object (const char *json, gsize len, const char *file, JsonObject **object,
                      GError **error)
{
  const char *bad = NULL;
  if (!g_utf8_validate_len (json, len, &bad)) {
    g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT, "%s: not valid UTF-8 (byte %zu)", file,
                 (size_t) (bad - json));
    return NULL;
  }
  GError *json_error = NULL;
  g_autofree char *dup = NULL;
  JsonParser *parser = ts_json_parse_strict (json, len, &dup, &json_error);
  if (!parser) {
    if (json_error) {
      g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT, "%s: not valid JSON: %s", file,
                   json_error->message);
      g_error_free (json_error);
    } else {
      g_autofree char *shown = g_strescape (dup, NULL);
      g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT, "%s: key \"%s\" appears twice", file,
                   shown);
    }
    return NULL;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT, "%s: not a JSON object", file);
    g_object_unref (parser);
    return NULL;
  }
  *object = json_node_get_object (root);
  return parser;
}

JsonParser *
ts_json_load_object (const char *path, gsize max_bytes, const char *display_name,
                     JsonObject **object, GError **error)
{
  const char *name = display_name ? display_name : path;
  GError *io_error = NULL;
  g_autoptr (GMappedFile) mf = g_mapped_file_new (path, FALSE, &io_error);
  if (!mf) {
    g_set_error (error, TS_ERROR, TS_ERROR_IO, "%s: %s", name, io_error->message);
    g_error_free (io_error);
    return NULL;
  }
  gsize len = g_mapped_file_get_length (mf);
  if (len > max_bytes) {
    g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT, "%s: %zu bytes is too large for this file "
                 "(at most %zu)", name, (size_t) len, (size_t) max_bytes);
    return NULL;
  }
  const char *data = g_mapped_file_get_contents (mf);
  return ts_json_parse_object (data ? data : "", len, name, object, error);
}

/* ---- typed reads ---------------------------------------------------------------------- */

void
ts_json_reader_init (TsJsonReader *r, const char *file, JsonObject *object, GError **error)
{
  r->file = file;
  r->object = object;
  r->error = error;
  r->failed = FALSE;
}

gboolean
ts_json_reader_fail (TsJsonReader *r, const char *key, const char *format, ...)
{
  if (r->failed)
    return FALSE;
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  if (key)
    g_set_error (r->error, TS_ERROR, TS_ERROR_CORRUPT, "%s: \"%s\" %s", r->file, key, msg);
  else
    g_set_error (r->error, TS_ERROR, TS_ERROR_CORRUPT, "%s: %s", r->file, msg);
  r->failed = TRUE;
  return FALSE;
}

static const char *
node_kind (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    return "an object";
  if (JSON_NODE_HOLDS_ARRAY (node))
    return "an array";
  if (JSON_NODE_HOLDS_NULL (node))
    return "null";
  GType t = json_node_get_value_type (node);
  if (t == G_TYPE_STRING)
    return "a string";
  if (t == G_TYPE_BOOLEAN)
    return "a boolean";
  if (t == G_TYPE_DOUBLE)
    return "a fractional number";
  return "a number";
}

/* The member, or NULL when missing or null (then the default applies). */
static JsonNode *
member (TsJsonReader *r, const char *key, gboolean required)
{
  if (r->failed)
    return NULL;
  JsonNode *node = json_object_get_member (r->object, key);
  if (node && JSON_NODE_HOLDS_NULL (node))
    node = NULL;
  if (!node && required)
    ts_json_reader_fail (r, key, "is missing");
  return node;
}

gboolean
ts_json_read_int (TsJsonReader *r, const char *key, gboolean required, int64_t def,
                  int64_t *out)
{
  JsonNode *node = member (r, key, required);
  if (r->failed)
    return FALSE;
  if (!node) {
    *out = def;
    return TRUE;
  }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return ts_json_reader_fail (r, key, "must be an integer, not %s", node_kind (node));
  *out = json_node_get_int (node);
  return TRUE;
}

gboolean
ts_json_read_bool (TsJsonReader *r, const char *key, gboolean def, gboolean *out)
{
  JsonNode *node = member (r, key, FALSE);
  if (r->failed)
    return FALSE;
  if (!node) {
    *out = def;
    return TRUE;
  }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return ts_json_reader_fail (r, key, "must be true or false, not %s", node_kind (node));
  *out = json_node_get_boolean (node);
  return TRUE;
}

gboolean
ts_json_read_double (TsJsonReader *r, const char *key, double def, double *out)
{
  JsonNode *node = member (r, key, FALSE);
  if (r->failed)
    return FALSE;
  if (!node) {
    *out = def;
    return TRUE;
  }
  GType t = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64)
    return ts_json_reader_fail (r, key, "must be a number, not %s", node_kind (node));
  *out = json_node_get_double (node);
  if (!isfinite (*out))
    return ts_json_reader_fail (r, key, "must be a finite number");
  return TRUE;
}

gboolean
ts_json_read_string (TsJsonReader *r, const char *key, gboolean required, const char *def,
                     const char **out)
{
  JsonNode *node = member (r, key, required);
  if (r->failed)
    return FALSE;
  if (!node) {
    *out = def;
    return TRUE;
  }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return ts_json_reader_fail (r, key, "must be a string, not %s", node_kind (node));
  *out = json_node_get_string (node);
  if (!g_utf8_validate (*out, -1, NULL))
    return ts_json_reader_fail (r, key, "is not valid UTF-8");
  return TRUE;
}

gboolean
ts_json_read_int_list (TsJsonReader *r, const char *key, int max, int64_t *out, int *n)
{
  JsonNode *node = member (r, key, FALSE);
  if (r->failed)
    return FALSE;
  if (!node)
    return TRUE; /* caller's defaults stay */
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return ts_json_reader_fail (r, key, "must be a list of integers, not %s", node_kind (node));
  JsonArray *a = json_node_get_array (node);
  guint len = json_array_get_length (a);
  if (len == 0 || len > (guint) max)
    return ts_json_reader_fail (r, key, "must list 1 to %d integers, not %u", max, len);
  for (guint i = 0; i < len; i++) {
    JsonNode *e = json_array_get_element (a, i);
    if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_INT64)
      return ts_json_reader_fail (r, key, "element %u must be an integer, not %s", i,
                                  node_kind (e));
    out[i] = json_node_get_int (e);
  }
  *n = (int) len;
  return TRUE;
}

gboolean
ts_json_check_string_list (TsJsonReader *r, const char *key, int n, const char *expected)
{
  JsonNode *node = member (r, key, FALSE);
  if (r->failed)
    return FALSE;
  if (!node)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return ts_json_reader_fail (r, key, "must be a list of strings, not %s", node_kind (node));
  JsonArray *a = json_node_get_array (node);
  if (json_array_get_length (a) != (guint) n)
    return ts_json_reader_fail (r, key, "lists %u blocks, but block_out_channels lists %d",
                                json_array_get_length (a), n);
  for (guint i = 0; i < (guint) n; i++) {
    JsonNode *e = json_array_get_element (a, i);
    if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
      return ts_json_reader_fail (r, key, "element %u must be a string", i);
    if (!g_str_equal (json_node_get_string (e), expected)) {
      g_autofree char *shown = g_strescape (json_node_get_string (e), NULL);
      return ts_json_reader_fail (r, key, "element %u is \"%s\"; only \"%s\" is supported", i,
                                  shown, expected);
    }
  }
  return TRUE;
}

gboolean
ts_json_check_range (TsJsonReader *r, const char *key, int64_t value, int64_t min, int64_t max)
{
  if (r->failed)
    return FALSE;
  if (value < min || value > max) {
    if (min == 1 && value < 1)
      return ts_json_reader_fail (r, key, "is %" G_GINT64_FORMAT "; it must be positive", value);
    return ts_json_reader_fail (r, key, "is %" G_GINT64_FORMAT "; it must be in %" G_GINT64_FORMAT
                                "..%" G_GINT64_FORMAT, value, min, max);
  }
  return TRUE;
}
