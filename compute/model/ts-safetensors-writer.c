/* ts-safetensors-writer.c — writing .safetensors files (tools, tests, synthetic models). */
#include "ts-safetensors-private.h"
#include "ts-safetensors-writer.h"

#include "../ts-atomic-file.h"

#include <json-glib/json-glib.h>
#include <string.h>

typedef struct {
  char                 *name;
  TsDType               dtype;
  int                   ndim;
  int64_t               shape[TS_SAFETENSORS_MAX_DIMS];
  guint64               nbytes;
  void                 *data;      /* owned copy, or NULL when filled at write time */
  TsSafetensorsFillFunc fill;
  gpointer              user_data;
  GDestroyNotify        destroy;
} WriterEntry;

struct _TsSafetensorsWriter {
  GPtrArray  *entries;  /* WriterEntry*, in file order */
  GHashTable *names;
  GTree      *metadata; /* key → value, sorted so output is reproducible */
};

static void
entry_free (WriterEntry *e)
{
  if (e->destroy)
    e->destroy (e->user_data);
  g_free (e->data);
  g_free (e->name);
  g_free (e);
}

static int
compare_keys (gconstpointer a, gconstpointer b, gpointer unused)
{
  return strcmp (a, b);
}

TsSafetensorsWriter *
ts_safetensors_writer_new (void)
{
  TsSafetensorsWriter *w = g_new0 (TsSafetensorsWriter, 1);
  w->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  w->names = g_hash_table_new (g_str_hash, g_str_equal);
  w->metadata = g_tree_new_full (compare_keys, NULL, g_free, g_free);
  return w;
}

void
ts_safetensors_writer_free (TsSafetensorsWriter *w)
{
  if (!w)
    return;
  g_hash_table_unref (w->names);
  g_ptr_array_unref (w->entries);
  g_tree_unref (w->metadata);
  g_free (w);
}

void
ts_safetensors_writer_set_metadata (TsSafetensorsWriter *w, const char *key, const char *value)
{
  g_return_if_fail (g_utf8_validate (key, -1, NULL) && g_utf8_validate (value, -1, NULL));
  g_tree_insert (w->metadata, g_strdup (key), g_strdup (value));
}

/* Checks name, dtype and shape; returns the new entry (not yet filled). */
static WriterEntry *
entry_new (TsSafetensorsWriter *w, const char *name, TsDType dtype, int ndim,
           const int64_t *shape, GError **error)
{
  const char *problem = NULL;
  guint64 nbytes = ts_dtype_size (dtype);
  if (!name || !*name || !g_utf8_validate (name, -1, NULL) || g_str_equal (name, "__metadata__"))
    problem = "invalid tensor name";
  else if (g_hash_table_contains (w->names, name))
    problem = "duplicate tensor name";
  else if (!ts_safetensors_dtype_name (dtype))
    problem = "invalid dtype";
  else if (ndim < 0 || ndim > TS_SAFETENSORS_MAX_DIMS || (ndim > 0 && !shape))
    problem = "invalid number of dimensions";
  for (int i = 0; !problem && i < ndim; i++)
    if (shape[i] < 0 || !g_uint64_checked_mul (&nbytes, nbytes, (guint64) shape[i]))
      problem = "invalid shape";
  if (problem) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "safetensors writer: %s (\"%s\")",
                 problem, name ? name : "(null)");
    return NULL;
  }
  WriterEntry *e = g_new0 (WriterEntry, 1);
  e->name = g_strdup (name);
  e->dtype = dtype;
  e->ndim = ndim;
  if (ndim > 0)
    memcpy (e->shape, shape, sizeof (int64_t) * ndim);
  e->nbytes = nbytes;
  return e;
}

static void
entry_commit (TsSafetensorsWriter *w, WriterEntry *e)
{
  g_ptr_array_add (w->entries, e);
  g_hash_table_add (w->names, e->name);
}

gboolean
ts_safetensors_writer_add (TsSafetensorsWriter *w, const char *name, TsDType dtype, int ndim,
                           const int64_t *shape, const void *data, GError **error)
{
  WriterEntry *e = entry_new (w, name, dtype, ndim, shape, error);
  if (!e)
    return FALSE;
  if (e->nbytes > 0 && !data) {
    entry_free (e);
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "safetensors writer: no data for "
                 "\"%s\"", name);
    return FALSE;
  }
  if (e->nbytes > 0) {
    e->data = g_try_malloc (e->nbytes);
    if (!e->data) {
      entry_free (e);
      g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, "out of memory copying \"%s\"", name);
      return FALSE;
    }
    memcpy (e->data, data, e->nbytes);
  }
  entry_commit (w, e);
  return TRUE;
}

gboolean
ts_safetensors_writer_add_fill (TsSafetensorsWriter *w, const char *name, TsDType dtype,
                                int ndim, const int64_t *shape, TsSafetensorsFillFunc fill,
                                gpointer user_data, GDestroyNotify destroy, GError **error)
{
  g_return_val_if_fail (fill != NULL, FALSE);
  WriterEntry *e = entry_new (w, name, dtype, ndim, shape, error);
  if (!e) {
    if (destroy)
      destroy (user_data);
    return FALSE;
  }
  e->fill = fill;
  e->user_data = user_data;
  e->destroy = destroy;
  entry_commit (w, e);
  return TRUE;
}

/* ---- output --------------------------------------------------------------------------- */

static gboolean
add_metadata_member (gpointer key, gpointer value, gpointer builder)
{
  json_builder_set_member_name (builder, key);
  json_builder_add_string_value (builder, value);
  return FALSE;
}

/* The header, padded with spaces so that 8 + its length is a multiple of 8. */
static GString *
build_header (TsSafetensorsWriter *w)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  if (g_tree_nnodes (w->metadata) > 0) {
    json_builder_set_member_name (b, "__metadata__");
    json_builder_begin_object (b);
    g_tree_foreach (w->metadata, add_metadata_member, b);
    json_builder_end_object (b);
  }
  guint64 offset = 0;
  for (guint i = 0; i < w->entries->len; i++) {
    WriterEntry *e = w->entries->pdata[i];
    json_builder_set_member_name (b, e->name);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "dtype");
    json_builder_add_string_value (b, ts_safetensors_dtype_name (e->dtype));
    json_builder_set_member_name (b, "shape");
    json_builder_begin_array (b);
    for (int d = 0; d < e->ndim; d++)
      json_builder_add_int_value (b, e->shape[d]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "data_offsets");
    json_builder_begin_array (b);
    json_builder_add_int_value (b, (gint64) offset);
    json_builder_add_int_value (b, (gint64) (offset + e->nbytes));
    json_builder_end_array (b);
    json_builder_end_object (b);
    offset += e->nbytes;
  }
  json_builder_end_object (b);

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  GString *header = g_string_new (NULL);
  json_generator_to_gstring (gen, header);
  while (header->len % 8 != 0)
    g_string_append_c (header, ' ');
  return header;
}

/* Calls `sink` with the file's pieces in order: length, header, each tensor's bytes. */
typedef gboolean (*SinkFunc) (const void *data, size_t size, gpointer target, GError **error);

static gboolean
emit_file (TsSafetensorsWriter *w, SinkFunc sink, gpointer target, GError **error)
{
  g_autoptr (GString) header = NULL;
  header = build_header (w);
  guint64 len = GUINT64_TO_LE ((guint64) header->len);
  if (!sink (&len, 8, target, error) || !sink (header->str, header->len, target, error))
    return FALSE;
  for (guint i = 0; i < w->entries->len; i++) {
    WriterEntry *e = w->entries->pdata[i];
    if (e->nbytes == 0)
      continue;
    if (e->data) {
      if (!sink (e->data, e->nbytes, target, error))
        return FALSE;
      continue;
    }
    g_autofree void *buf = g_try_malloc (e->nbytes);
    if (!buf) {
      g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, "out of memory writing \"%s\"",
                   e->name);
      return FALSE;
    }
    if (!e->fill (buf, e->nbytes, e->user_data, error) || !sink (buf, e->nbytes, target, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
sink_string (const void *data, size_t size, gpointer target, GError **error)
{
  GByteArray *out = target;
  if (size > G_MAXUINT - out->len) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "file too large to build in memory");
    return FALSE;
  }
  g_byte_array_append (target, data, (guint) size);
  return TRUE;
}

GBytes *
ts_safetensors_writer_to_bytes (TsSafetensorsWriter *w, GError **error)
{
  GByteArray *out = g_byte_array_new ();
  if (!emit_file (w, sink_string, out, error)) {
    g_byte_array_unref (out);
    return NULL;
  }
  return g_byte_array_free_to_bytes (out);
}

static gboolean
sink_file (const void *data, size_t size, gpointer target, GError **error)
{
  return ts_atomic_file_write (target, data, size, error);
}

gboolean
ts_safetensors_writer_write (TsSafetensorsWriter *w, const char *path, GError **error)
{
  /* Streamed into a temporary file that is flushed and renamed over `path`: a crash or a full
   * disk leaves the old file (a model or a training checkpoint) whole. */
  g_autoptr (TsAtomicFile) f = ts_atomic_file_new (path, error);
  return f && emit_file (w, sink_file, f, error) && ts_atomic_file_commit (f, error);
}
