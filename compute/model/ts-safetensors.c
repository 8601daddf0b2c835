/* ts-safetensors.c — opening a .safetensors file and validating its header.
 *
 * Nothing in the header is trusted: its length, its encoding, every number in it and every
 * pair of offsets is checked before a tensor is handed out, so later code may index the
 * mapping with the offsets it finds here. */
#include "ts-safetensors-private.h"
#include "ts-json-reader.h"

#include <sys/mman.h>
#include <unistd.h>

#include <string.h>

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
#error "safetensors data is little-endian; big-endian hosts would need byte swapping"
#endif

static const TsStDTypeInfo st_dtypes[] = {
  { "F64", 8, TS_DTYPE_F32 },  /* converted to f32 on load */
  { "F32", 4, TS_DTYPE_F32 },
  { "F16", 2, TS_DTYPE_F16 },
  { "BF16", 2, TS_DTYPE_BF16 },
  { "I64", 8, TS_DTYPE_I64 },
  { "I32", 4, TS_DTYPE_I32 },
  { "U8", 1, TS_DTYPE_U8 },
  { "BOOL", 1, TS_DTYPE_U8 },
  /* Valid in the format, but with no engine equivalent: parsed (so the file validates),
   * refused on load. */
  { "I16", 2, TS_DTYPE_COUNT },
  { "I8", 1, TS_DTYPE_COUNT },
  { "U16", 2, TS_DTYPE_COUNT },
  { "U32", 4, TS_DTYPE_COUNT },
  { "U64", 8, TS_DTYPE_COUNT },
  { "F8_E4M3", 1, TS_DTYPE_COUNT },
  { "F8_E5M2", 1, TS_DTYPE_COUNT },
};

const TsStDTypeInfo *
ts_st_dtype_lookup (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (st_dtypes); i++)
    if (g_str_equal (st_dtypes[i].name, name))
      return &st_dtypes[i];
  return NULL;
}

const char *
ts_safetensors_dtype_name (TsDType dtype)
{
  switch (dtype) {
  case TS_DTYPE_F32: return "F32";
  case TS_DTYPE_F16: return "F16";
  case TS_DTYPE_BF16: return "BF16";
  case TS_DTYPE_I32: return "I32";
  case TS_DTYPE_I64: return "I64";
  case TS_DTYPE_U8: return "U8";
  default: return NULL;
  }
}

static gboolean G_GNUC_PRINTF (3, 4)
corrupt (GError **error, const TsSafetensors *st, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *raw = g_strdup_vprintf (format, args);
  va_end (args);
  /* Parser messages quote the file's bytes: keep the message valid UTF-8 for the UI. */
  g_autofree char *msg = g_utf8_make_valid (raw, -1);
  g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT, "%s: %s", st->path, msg);
  return FALSE;
}

/* ---- the header's JSON ---------------------------------------------------------------- */

static JsonParser *
parse_header_json (TsSafetensors *st, const char *json, gsize len, GError **error)
{
  GError *json_error = NULL;
  g_autofree char *dup = NULL;
  g_autoptr (JsonParser) parser = ts_json_parse_strict (json, len, &dup, &json_error);
  if (!parser && json_error) {
    corrupt (error, st, "header is not valid JSON: %s", json_error->message);
    g_error_free (json_error);
    return NULL;
  }
  if (!parser) {
    g_autofree char *shown = g_strescape (dup, NULL);
    corrupt (error, st, "header names \"%s\" twice", shown);
    return NULL;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    corrupt (error, st, "header is not a JSON object");
    return NULL;
  }
  return g_steal_pointer (&parser);
}

/* ---- one tensor entry ----------------------------------------------------------------- */

/* Integers only: json-glib saturates numbers beyond the int64 range to negative values, so
 * every oversized number shows up here as negative and is refused. */
static gboolean
get_count (JsonNode *node, guint64 *out)
{
  if (!node || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int (node);
  if (v < 0)
    return FALSE;
  *out = (guint64) v;
  return TRUE;
}

static gboolean
parse_shape (TsSafetensors *st, const char *name, JsonNode *node, TsSafetensorsTensor *t,
             GError **error)
{
  if (!node || !JSON_NODE_HOLDS_ARRAY (node))
    return corrupt (error, st, "tensor \"%s\": \"shape\" is missing or not an array", name);
  JsonArray *dims = json_node_get_array (node);
  guint ndim = json_array_get_length (dims);
  if (ndim > TS_SAFETENSORS_MAX_DIMS)
    return corrupt (error, st, "tensor \"%s\": %u dimensions (at most %d supported)", name,
                    ndim, TS_SAFETENSORS_MAX_DIMS);
  t->ndim = (int) ndim;
  t->numel = 1;
  for (guint i = 0; i < ndim; i++) {
    guint64 d;
    if (!get_count (json_array_get_element (dims, i), &d))
      return corrupt (error, st, "tensor \"%s\": shape[%u] is not a non-negative integer "
                      "below 2^63", name, i);
    t->shape[i] = (int64_t) d;
    if (!g_uint64_checked_mul (&t->numel, t->numel, d))
      return corrupt (error, st, "tensor \"%s\": shape has more than 2^64 elements", name);
  }
  if (!g_uint64_checked_mul (&t->nbytes, t->numel, t->elem_size))
    return corrupt (error, st, "tensor \"%s\": shape is too large (more than 2^64 bytes)", name);
  return TRUE;
}

static char *
describe_shape (const TsSafetensorsTensor *t)
{
  GString *s = g_string_new (t->dtype_name);
  g_string_append_c (s, '[');
  for (int i = 0; i < t->ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", t->shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static gboolean
parse_offsets (TsSafetensors *st, const char *name, JsonNode *node, TsSafetensorsTensor *t,
               GError **error)
{
  guint64 begin, end;
  JsonArray *pair = node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  if (!pair || json_array_get_length (pair) != 2)
    return corrupt (error, st, "tensor \"%s\": \"data_offsets\" is missing or not a pair", name);
  if (!get_count (json_array_get_element (pair, 0), &begin) ||
      !get_count (json_array_get_element (pair, 1), &end))
    return corrupt (error, st, "tensor \"%s\": \"data_offsets\" are not non-negative integers "
                    "below 2^63", name);
  guint64 data_size = st->size - st->data_start;
  if (begin > end)
    return corrupt (error, st, "tensor \"%s\": data_offsets [%" G_GUINT64_FORMAT ", %"
                    G_GUINT64_FORMAT "] end before they begin", name, begin, end);
  if (end > data_size)
    return corrupt (error, st, "tensor \"%s\": data_offsets [%" G_GUINT64_FORMAT ", %"
                    G_GUINT64_FORMAT "] reach past the end of the data (%" G_GUINT64_FORMAT
                    " bytes; the file is truncated or the offsets are wrong)", name, begin, end,
                    data_size);
  if (end - begin != t->nbytes) {
    g_autofree char *shape = describe_shape (t);
    return corrupt (error, st, "tensor \"%s\": data_offsets [%" G_GUINT64_FORMAT ", %"
                    G_GUINT64_FORMAT "] hold %" G_GUINT64_FORMAT " bytes, but %s needs %"
                    G_GUINT64_FORMAT, name, begin, end, end - begin, shape, t->nbytes);
  }
  t->offset = st->data_start + begin;
  return TRUE;
}

static gboolean
parse_tensor (TsSafetensors *st, const char *name, JsonNode *node, TsSafetensorsTensor *t,
              GError **error)
{
  if (!*name)
    return corrupt (error, st, "a tensor has an empty name");
  if (!g_utf8_validate (name, -1, NULL))
    return corrupt (error, st, "a tensor name is not valid UTF-8");
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return corrupt (error, st, "tensor \"%s\": entry is not a JSON object", name);
  JsonObject *entry = json_node_get_object (node);

  JsonNode *dtype = json_object_get_member (entry, "dtype");
  if (!dtype || json_node_get_value_type (dtype) != G_TYPE_STRING)
    return corrupt (error, st, "tensor \"%s\": \"dtype\" is missing or not a string", name);
  const TsStDTypeInfo *info = ts_st_dtype_lookup (json_node_get_string (dtype));
  if (!info) {
    g_autofree char *shown = g_strescape (json_node_get_string (dtype), NULL);
    return corrupt (error, st, "tensor \"%s\": unknown dtype \"%s\"", name, shown);
  }
  t->name = g_string_chunk_insert_const (st->strings, name);
  t->dtype_name = info->name;
  t->dtype = info->dtype;
  t->loadable = info->dtype != TS_DTYPE_COUNT;
  t->elem_size = info->size;
  return parse_shape (st, name, json_object_get_member (entry, "shape"), t, error) &&
         parse_offsets (st, name, json_object_get_member (entry, "data_offsets"), t, error);
}

static gboolean
parse_metadata (TsSafetensors *st, JsonNode *node, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return corrupt (error, st, "\"__metadata__\" is not a JSON object");
  JsonObjectIter iter;
  const char *key;
  JsonNode *value;
  json_object_iter_init (&iter, json_node_get_object (node));
  while (json_object_iter_next (&iter, &key, &value)) {
    if (json_node_get_value_type (value) != G_TYPE_STRING)
      return corrupt (error, st, "\"__metadata__\" entry \"%s\" is not a string", key);
    const char *v = json_node_get_string (value);
    if (!g_utf8_validate (key, -1, NULL) || !g_utf8_validate (v, -1, NULL))
      return corrupt (error, st, "\"__metadata__\" holds text that is not valid UTF-8");
    g_hash_table_insert (st->metadata, g_string_chunk_insert_const (st->strings, key),
                         g_string_chunk_insert_const (st->strings, v));
  }
  return TRUE;
}

/* ---- the whole file ------------------------------------------------------------------- */

static int
compare_offsets (gconstpointer a, gconstpointer b)
{
  const TsSafetensorsTensor *x = a, *y = b;
  if (x->offset != y->offset)
    return x->offset < y->offset ? -1 : 1;
  return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static gboolean
check_overlaps (TsSafetensors *st, GError **error)
{
  if (st->n_tensors > 1)
    qsort (st->tensors, st->n_tensors, sizeof *st->tensors, compare_offsets);
  const TsSafetensorsTensor *prev = NULL;
  for (guint i = 0; i < st->n_tensors; i++) {
    const TsSafetensorsTensor *t = &st->tensors[i];
    st->data_bytes += t->nbytes;
    if (t->nbytes == 0)
      continue;
    if (prev && t->offset < prev->offset + prev->nbytes)
      return corrupt (error, st, "tensors \"%s\" (bytes %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
                      ") and \"%s\" (bytes %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT ") overlap",
                      prev->name, prev->offset - st->data_start,
                      prev->offset - st->data_start + prev->nbytes, t->name,
                      t->offset - st->data_start, t->offset - st->data_start + t->nbytes);
    prev = t;
  }
  return TRUE;
}

static gboolean
check_header_bytes (TsSafetensors *st, guint64 *header_len, GError **error)
{
  if (st->size < 8)
    return corrupt (error, st, "file is %" G_GSIZE_FORMAT " bytes, too short for the 8-byte "
                    "header length of a safetensors file", st->size);
  guint64 n;
  memcpy (&n, st->base, 8);
  n = GUINT64_FROM_LE (n);
  if (n > st->size - 8)
    return corrupt (error, st, "header length %" G_GUINT64_FORMAT " is larger than the rest of "
                    "the file (%" G_GSIZE_FORMAT " bytes): truncated or not a safetensors file",
                    n, st->size - 8);
  if (n > TS_SAFETENSORS_MAX_HEADER)
    return corrupt (error, st, "header length %" G_GUINT64_FORMAT " is over the %u-byte limit",
                    n, TS_SAFETENSORS_MAX_HEADER);
  if (n < 2)
    return corrupt (error, st, "header length %" G_GUINT64_FORMAT " is too short for a JSON "
                    "object", n);
  const char *json = (const char *) st->base + 8;
  const char *bad = NULL;
  if (!g_utf8_validate_len (json, n, &bad)) {
    gsize at = (gsize) (bad - json);
    gsize from = at > 40 ? at - 40 : 0;
    g_autofree char *before = g_strndup (json + from, at - from);
    g_autofree char *shown = g_utf8_make_valid (before, -1);
    return corrupt (error, st, "header is not valid UTF-8 (byte %" G_GSIZE_FORMAT
                    " of the header, after \"%s\")", at, shown);
  }
  *header_len = n;
  return TRUE;
}

static gboolean
parse_file (TsSafetensors *st, GError **error)
{
  guint64 header_len = 0;
  if (!check_header_bytes (st, &header_len, error))
    return FALSE;
  st->data_start = 8 + header_len;

  g_autoptr (JsonParser) parser = parse_header_json (st, (const char *) st->base + 8,
                                                     header_len, error);
  if (!parser)
    return FALSE;
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  st->tensors = g_try_new0 (TsSafetensorsTensor, json_object_get_size (root));
  if (!st->tensors && json_object_get_size (root) > 0) {
    g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, "%s: out of memory", st->path);
    return FALSE;
  }

  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  json_object_iter_init (&iter, root);
  while (json_object_iter_next (&iter, &name, &node)) {
    if (g_str_equal (name, "__metadata__")) {
      if (!parse_metadata (st, node, error))
        return FALSE;
      continue;
    }
    if (!parse_tensor (st, name, node, &st->tensors[st->n_tensors], error))
      return FALSE;
    st->n_tensors++;
  }
  if (!check_overlaps (st, error))
    return FALSE;
  for (guint i = 0; i < st->n_tensors; i++)
    g_hash_table_insert (st->by_name, (gpointer) st->tensors[i].name, &st->tensors[i]);
  return TRUE;
}

TsSafetensors *
ts_safetensors_new_from_bytes (GBytes *bytes, const char *display_name, GError **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);
  TsSafetensors *st = g_new0 (TsSafetensors, 1);
  st->ref_count = 1;
  st->path = g_strdup (display_name ? display_name : "(memory)");
  st->bytes = g_bytes_ref (bytes);
  st->base = g_bytes_get_data (bytes, &st->size);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new (g_str_hash, g_str_equal);
  st->strings = g_string_chunk_new (256);
  if (!parse_file (st, error)) {
    ts_safetensors_unref (st);
    return NULL;
  }
  return st;
}

TsSafetensors *
ts_safetensors_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  GError *map_error = NULL;
  GMappedFile *mf = g_mapped_file_new (path, FALSE, &map_error);
  if (!mf) {
    g_set_error (error, TS_ERROR, TS_ERROR_IO, "%s", map_error->message);
    g_error_free (map_error);
    return NULL;
  }
  /* An empty file has no mapping behind it. */
  gboolean mapped = g_mapped_file_get_length (mf) > 0;
  g_autoptr (GBytes) bytes = g_mapped_file_get_bytes (mf);
  g_mapped_file_unref (mf);
  TsSafetensors *st = ts_safetensors_new_from_bytes (bytes, path, error);
  if (st)
    st->mapped = mapped;
  return st;
}

gboolean
ts_safetensors_is_mapped (const TsSafetensors *st)
{
  return st->mapped;
}

void
ts_safetensors_release_pages (TsSafetensors *st)
{
  if (!st->mapped)
    return;
  uintptr_t page = (uintptr_t) sysconf (_SC_PAGESIZE);
  uintptr_t begin = ((uintptr_t) st->base + page - 1) / page * page;
  uintptr_t end = ((uintptr_t) st->base + st->size) / page * page;
  if (end > begin)
    madvise ((void *) begin, end - begin, MADV_DONTNEED); /* advice: failure changes nothing */
}

TsSafetensors *
ts_safetensors_ref (TsSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_atomic_int_inc (&st->ref_count);
  return st;
}

void
ts_safetensors_unref (TsSafetensors *st)
{
  if (!st || !g_atomic_int_dec_and_test (&st->ref_count))
    return;
  g_hash_table_unref (st->by_name);
  g_hash_table_unref (st->metadata);
  g_string_chunk_free (st->strings);
  g_free (st->tensors);
  g_bytes_unref (st->bytes);
  g_free (st->path);
  g_free (st);
}

const char *
ts_safetensors_path (const TsSafetensors *st)
{
  return st->path;
}

guint
ts_safetensors_n_tensors (const TsSafetensors *st)
{
  return st->n_tensors;
}

const TsSafetensorsTensor *
ts_safetensors_get (const TsSafetensors *st, guint index)
{
  g_return_val_if_fail (index < st->n_tensors, NULL);
  return &st->tensors[index];
}

const TsSafetensorsTensor *
ts_safetensors_lookup (const TsSafetensors *st, const char *name)
{
  return g_hash_table_lookup (st->by_name, name);
}

const char *
ts_safetensors_metadata (const TsSafetensors *st, const char *key)
{
  return g_hash_table_lookup (st->metadata, key);
}

static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

const char **
ts_safetensors_metadata_keys (const TsSafetensors *st, guint *n_keys)
{
  const char **keys = (const char **) g_hash_table_get_keys_as_array (st->metadata, n_keys);
  qsort (keys, *n_keys, sizeof *keys, compare_strings);
  return keys;
}

const void *
ts_safetensors_data (const TsSafetensors *st, const TsSafetensorsTensor *info)
{
  return st->base + info->offset;
}

guint64
ts_safetensors_data_bytes (const TsSafetensors *st)
{
  return st->data_bytes;
}
