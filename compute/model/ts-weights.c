/* ts-weights.c — a component's weight files and the check against its expected weights. */
#include "ts-weights.h"
#include "ts-json-reader.h"
#include "../cpu/cpu-precision.h"

#include <string.h>

struct _TsWeights {
  char       *label;
  char       *variant;
  GPtrArray  *files;   /* TsSafetensors* */
  GHashTable *by_name; /* name → TsSafetensors* holding it */
  TsPrecision precision; /* for the matrices ts_weights_load hands out */
};

void
ts_weights_free (TsWeights *w)
{
  if (!w)
    return;
  g_hash_table_unref (w->by_name);
  g_ptr_array_unref (w->files);
  g_free (w->variant);
  g_free (w->label);
  g_free (w);
}

TsWeights *
ts_weights_new (TsSafetensors *const *files, guint n_files, const char *label, GError **error)
{
  TsWeights *w = g_new0 (TsWeights, 1);
  w->label = g_strdup (label);
  w->files = g_ptr_array_new_with_free_func ((GDestroyNotify) ts_safetensors_unref);
  w->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint f = 0; f < n_files; f++) {
    g_ptr_array_add (w->files, ts_safetensors_ref (files[f]));
    for (guint i = 0; i < ts_safetensors_n_tensors (files[f]); i++) {
      const char *name = ts_safetensors_get (files[f], i)->name;
      TsSafetensors *other = g_hash_table_lookup (w->by_name, name);
      if (other) {
        g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT, "%s: tensor \"%s\" is in both %s and %s",
                     label, name, ts_safetensors_path (other), ts_safetensors_path (files[f]));
        ts_weights_free (w);
        return NULL;
      }
      g_hash_table_insert (w->by_name, (gpointer) name, files[f]);
    }
  }
  return w;
}

/* ---- finding the files ---------------------------------------------------------------- */

/* Shard names come from the index file, so they must stay inside the folder. */
static gboolean
is_plain_file_name (const char *name)
{
  return *name && !strchr (name, '/') && !strchr (name, '\\') && !g_str_equal (name, ".") &&
         !g_str_equal (name, "..");
}

static GPtrArray *
open_shards (const char *dir, const char *index_path, const char *label, GError **error)
{
  g_autofree char *index_name = g_path_get_basename (index_path);
  g_autofree char *shown = g_strdup_printf ("%s/%s", label, index_name);
  JsonObject *root;
  g_autoptr (JsonParser) parser = ts_json_load_object (index_path, 64 * 1024 * 1024, shown,
                                                       &root, error);
  if (!parser)
    return NULL;
  JsonNode *map = json_object_get_member (root, "weight_map");
  if (!map || !JSON_NODE_HOLDS_OBJECT (map)) {
    g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT, "%s: \"weight_map\" is missing", shown);
    return NULL;
  }
  g_autoptr (GPtrArray) files =
    g_ptr_array_new_with_free_func ((GDestroyNotify) ts_safetensors_unref);
  g_autoptr (GHashTable) opened = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  JsonObjectIter iter;
  const char *tensor;
  JsonNode *file;
  json_object_iter_init (&iter, json_node_get_object (map));
  while (json_object_iter_next (&iter, &tensor, &file)) {
    gboolean is_string = JSON_NODE_HOLDS_VALUE (file) &&
                         json_node_get_value_type (file) == G_TYPE_STRING;
    const char *fname = is_string ? json_node_get_string (file) : "";
    if (!is_plain_file_name (fname)) {
      g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT, "%s: tensor \"%s\" maps to an invalid file "
                   "name", shown, tensor);
      return NULL;
    }
    TsSafetensors *st = g_hash_table_lookup (opened, fname);
    if (!st) {
      g_autofree char *path = g_build_filename (dir, fname, NULL);
      st = ts_safetensors_open (path, error);
      if (!st)
        return NULL;
      g_ptr_array_add (files, st);
      g_hash_table_insert (opened, g_strdup (fname), st);
    }
    if (!ts_safetensors_lookup (st, tensor)) {
      g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT, "%s: tensor \"%s\" is listed in %s but "
                   "%s does not hold it", shown, tensor, shown, ts_safetensors_path (st));
      return NULL;
    }
  }
  return g_steal_pointer (&files);
}

/* File names for one variant ("" = full precision): single file, and sharded index. */
static void
variant_names (const char *base, const char *variant, char **single, char **index)
{
  if (!*variant) {
    *single = g_strdup_printf ("%s.safetensors", base);
    *index = g_strdup_printf ("%s.safetensors.index.json", base);
  } else {
    *single = g_strdup_printf ("%s.%s.safetensors", base, variant);
    *index = g_strdup_printf ("%s.safetensors.index.%s.json", base, variant);
  }
}

/* TRUE when files for `variant` exist; then *w or *error is set. */
static gboolean
try_variant (const char *dir, const char *base, const char *variant, const char *label,
             TsWeights **w, GError **error)
{
  g_autofree char *single = NULL, *index = NULL;
  variant_names (base, variant, &single, &index);
  g_autofree char *single_path = g_build_filename (dir, single, NULL);
  g_autofree char *index_path = g_build_filename (dir, index, NULL);
  *w = NULL;
  if (g_file_test (single_path, G_FILE_TEST_EXISTS)) {
    g_autoptr (TsSafetensors) st = ts_safetensors_open (single_path, error);
    if (st)
      *w = ts_weights_new (&st, 1, label, error);
  } else if (g_file_test (index_path, G_FILE_TEST_EXISTS)) {
    g_autoptr (GPtrArray) files = open_shards (dir, index_path, label, error);
    if (files)
      *w = ts_weights_new ((TsSafetensors *const *) files->pdata, files->len, label, error);
  } else {
    return FALSE;
  }
  if (*w && *variant)
    (*w)->variant = g_strdup (variant);
  return TRUE;
}

TsWeights *
ts_weights_open (const char *dir, const char *base, const char *variant, const char *label,
                 GError **error)
{
  TsWeights *w = NULL;
  if (variant) {
    if (try_variant (dir, base, variant, label, &w, error))
      return w;
  } else if (try_variant (dir, base, "", label, &w, error) ||
             try_variant (dir, base, "fp16", label, &w, error)) {
    return w;
  }
  g_autofree char *single = NULL, *index = NULL;
  variant_names (base, variant ? variant : "", &single, &index);
  g_set_error (error, TS_ERROR, TS_ERROR_IO, "%s: no weights in %s (looked for %s, %s%s)",
               label, dir, single, index, variant ? "" : " and their fp16 variants");
  return NULL;
}

/* ---- queries -------------------------------------------------------------------------- */

guint
ts_weights_n_files (const TsWeights *w)
{
  return w->files->len;
}

TsSafetensors *
ts_weights_file (const TsWeights *w, guint index)
{
  g_return_val_if_fail (index < w->files->len, NULL);
  return w->files->pdata[index];
}

const char *
ts_weights_variant (const TsWeights *w)
{
  return w->variant;
}

guint
ts_weights_n_tensors (const TsWeights *w)
{
  return g_hash_table_size (w->by_name);
}

guint64
ts_weights_total_bytes (const TsWeights *w)
{
  guint64 total = 0;
  for (guint i = 0; i < w->files->len; i++)
    total += ts_safetensors_data_bytes (w->files->pdata[i]);
  return total;
}

const TsSafetensorsTensor *
ts_weights_lookup (const TsWeights *w, const char *name, TsSafetensors **file)
{
  TsSafetensors *st = g_hash_table_lookup (w->by_name, name);
  if (file)
    *file = st;
  return st ? ts_safetensors_lookup (st, name) : NULL;
}

TsTensor *
ts_weights_load (TsWeights *w, const char *name, TsBackend *backend, TsDType dtype,
                 GError **error)
{
  TsSafetensors *st;
  const TsSafetensorsTensor *info = ts_weights_lookup (w, name, &st);
  if (!info) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "%s: no weight named \"%s\"",
                 w->label, name);
    return NULL;
  }
  TsTensor *t = ts_safetensors_load (st, info, backend, dtype, error);
  /* Matrices only: vectors are biases and norms. The CPU backend packs a marked weight when
   * the network says how it will multiply it (ts_prepare_linear_weight, as it loads) or else
   * at its first product as a linear weight or a convolution's GEMM matrix (conv kernels are
   * 4-D); other readers (embedding lookups, depthwise convolutions) keep reading the tensor
   * as loaded. A tensor over the file's mapping gives its pages back
   * once packed, so the f32 copy of a quantised weight does not stay in memory beside it. */
  if (t && t->ndim >= 2 && w->precision != TS_PRECISION_F32 &&
      ts_backend_kind (backend) == TS_BACKEND_CPU) {
    gboolean over_mapping = ts_safetensors_is_mapped (st) &&
                            ts_cpu_tensor_data (t) == ts_safetensors_data (st, info);
    ts_cpu_weight_set_precision_full (t, w->precision, over_mapping);
  }
  return t;
}

void
ts_weights_release_pages (TsWeights *w)
{
  for (guint i = 0; i < w->files->len; i++)
    ts_safetensors_release_pages (w->files->pdata[i]);
}

void
ts_weights_set_precision (TsWeights *w, TsPrecision precision)
{
  w->precision = precision;
}

TsPrecision
ts_weights_precision (const TsWeights *w)
{
  return w->precision;
}

/* ---- checking against the config ------------------------------------------------------ */

#define MAX_LISTED 8

typedef struct {
  const char *title;
  GPtrArray  *items; /* char* */
} Problems;

static void
problems_append (GString *msg, const Problems *p)
{
  if (p->items->len == 0)
    return;
  g_string_append_printf (msg, "\n  %u %s:", p->items->len, p->title);
  for (guint i = 0; i < p->items->len && i < MAX_LISTED; i++)
    g_string_append_printf (msg, " %s%s", (const char *) p->items->pdata[i],
                            i + 1 < p->items->len && i + 1 < MAX_LISTED ? "," : "");
  if (p->items->len > MAX_LISTED)
    g_string_append_printf (msg, " … and %u more", p->items->len - MAX_LISTED);
}

static gboolean
shape_matches (const TsSafetensorsTensor *t, const TsWeightSpec *s)
{
  if (t->ndim != s->ndim)
    return FALSE;
  for (int d = 0; d < s->ndim; d++)
    if (t->shape[d] != s->shape[d])
      return FALSE;
  return TRUE;
}

static gboolean
is_float (const TsSafetensorsTensor *t)
{
  return t->loadable && (ts_dtype_is_float (t->dtype) || g_str_equal (t->dtype_name, "F64"));
}

static void
check_specs (const TsWeights *w, const GPtrArray *specs, GHashTable *expected,
             Problems *missing, Problems *shape)
{
  for (guint i = 0; i < specs->len; i++) {
    const TsWeightSpec *s = specs->pdata[i];
    g_hash_table_add (expected, s->name);
    const TsSafetensorsTensor *t = ts_weights_lookup (w, s->name, NULL);
    if (!t) {
      g_ptr_array_add (missing->items, g_strdup (s->name));
    } else if (!shape_matches (t, s) || !is_float (t)) {
      g_autofree char *want = ts_weight_spec_describe_shape (s->ndim, s->shape);
      g_autofree char *have = ts_weight_spec_describe_shape (t->ndim, t->shape);
      g_ptr_array_add (shape->items, g_strdup_printf ("%s (file %s%s, config %s)", s->name,
                                                      t->dtype_name, have, want));
    }
  }
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

gboolean
ts_weights_check (const TsWeights *w, const GPtrArray *specs, const char *const *ignored,
                  GError **error)
{
  Problems missing = { "missing", g_ptr_array_new_with_free_func (g_free) };
  Problems extra = { "unexpected", g_ptr_array_new_with_free_func (g_free) };
  Problems shape = { "with the wrong shape or dtype", g_ptr_array_new_with_free_func (g_free) };
  g_autoptr (GHashTable) expected = g_hash_table_new (g_str_hash, g_str_equal);
  check_specs (w, specs, expected, &missing, &shape);

  GHashTableIter iter;
  gpointer name;
  g_hash_table_iter_init (&iter, w->by_name);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    if (!g_hash_table_contains (expected, name) &&
        !(ignored && g_strv_contains (ignored, name)))
      g_ptr_array_add (extra.items, g_strdup (name));
  g_ptr_array_sort (extra.items, compare_names);

  gboolean ok = missing.items->len == 0 && extra.items->len == 0 && shape.items->len == 0;
  if (!ok) {
    GString *msg = g_string_new (NULL);
    g_string_printf (msg, "%s: the weights in %s do not match its config:", w->label,
                     w->files->len ? ts_safetensors_path (w->files->pdata[0]) : "(no files)");
    problems_append (msg, &missing);
    problems_append (msg, &shape);
    problems_append (msg, &extra);
    g_set_error_literal (error, TS_ERROR, TS_ERROR_CORRUPT, msg->str);
    g_string_free (msg, TRUE);
  }
  g_ptr_array_unref (missing.items);
  g_ptr_array_unref (extra.items);
  g_ptr_array_unref (shape.items);
  return ok;
}
