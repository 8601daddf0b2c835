/* golden-util.c — reading case tensors and comparing results for the golden handlers. */
#include "golden.h"

#include <math.h>

char *
golden_path (const GoldenCase *gc, const char *rel)
{
  return g_build_filename (gc->dir, rel, NULL);
}

JsonObject *
golden_tensor_spec (const GoldenCase *gc, const char *tensor)
{
  JsonNode *tensors = json_object_get_member (gc->spec, "tensors");
  if (!tensors || !JSON_NODE_HOLDS_OBJECT (tensors))
    return NULL;
  JsonNode *t = json_object_get_member (json_node_get_object (tensors), tensor);
  return t && JSON_NODE_HOLDS_OBJECT (t) ? json_node_get_object (t) : NULL;
}

static TsSafetensors *
open_file (GoldenCase *gc, const char *rel)
{
  TsSafetensors *st = g_hash_table_lookup (gc->files, rel);
  if (st)
    return st;
  g_autofree char *path = golden_path (gc, rel);
  g_autoptr (GError) error = NULL;
  st = ts_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_hash_table_insert (gc->files, g_strdup (rel), st);
  return st;
}

const TsSafetensorsTensor *
golden_tensor (GoldenCase *gc, const char *tensor, TsSafetensors **file)
{
  JsonObject *spec = golden_tensor_spec (gc, tensor);
  if (!spec)
    g_error ("%s: the manifest lists no tensor \"%s\"", gc->name, tensor);
  const char *rel = json_object_get_string_member (spec, "file");
  TsSafetensors *st = open_file (gc, rel);
  const TsSafetensorsTensor *info = ts_safetensors_lookup (st, tensor);
  if (!info)
    g_error ("%s: %s holds no tensor \"%s\"", gc->name, rel, tensor);
  /* the file must agree with the manifest */
  JsonArray *shape = json_object_get_array_member (spec, "shape");
  g_assert_cmpint (info->ndim, ==, (int) json_array_get_length (shape));
  for (int i = 0; i < info->ndim; i++)
    g_assert_cmpint (info->shape[i], ==, json_array_get_int_element (shape, i));
  g_assert_cmpstr (info->dtype_name, ==, json_object_get_string_member (spec, "dtype"));
  if (file)
    *file = st;
  return info;
}

void *
golden_read (GoldenCase *gc, const char *tensor, TsDType dtype, guint64 *n)
{
  TsSafetensors *st;
  const TsSafetensorsTensor *info = golden_tensor (gc, tensor, &st);
  size_t size = (size_t) info->numel * ts_dtype_size (dtype);
  void *data = g_malloc (size ? size : 1);
  g_autoptr (GError) error = NULL;
  g_assert_true (ts_safetensors_read (st, info, dtype, data, size, &error));
  g_assert_no_error (error);
  *n = info->numel;
  return data;
}

static char *
describe (GoldenCase *gc, const char *tensor)
{
  JsonObject *spec = golden_tensor_spec (gc, tensor);
  if (!spec)
    return g_strdup (tensor);
  GString *s = g_string_new (tensor);
  JsonArray *shape = json_object_get_array_member (spec, "shape");
  g_string_append_c (s, ' ');
  g_string_append (s, json_object_get_string_member (spec, "dtype"));
  g_string_append_c (s, '[');
  for (guint i = 0; i < json_array_get_length (shape); i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "",
                            json_array_get_int_element (shape, i));
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

void
golden_report (GoldenCase *gc, const GoldenStats *st, const char *extra)
{
  g_autofree char *what = describe (gc, st->tensor);
  g_test_message ("%s: %s: %" G_GUINT64_FORMAT " values, %" G_GUINT64_FORMAT " off, worst |diff| %g"
                  " (rel %g) at %" G_GUINT64_FORMAT "%s%s", gc->name, what, st->compared,
                  st->mismatched, st->worst_abs, st->worst_rel, st->worst_at,
                  extra ? "; " : "", extra ? extra : "");
}

gboolean
golden_compare_i64 (GoldenCase *gc, const char *tensor, const int64_t *got, const int64_t *ref,
                    guint64 n, GoldenStats *st)
{
  *st = (GoldenStats) { .tensor = tensor, .compared = n };
  for (guint64 i = 0; i < n; i++) {
    double d = fabs ((double) got[i] - (double) ref[i]);
    if (got[i] != ref[i])
      st->mismatched++;
    if (d > st->worst_abs) {
      st->worst_abs = d;
      st->worst_rel = ref[i] ? d / fabs ((double) ref[i]) : INFINITY;
      st->worst_at = i;
    }
  }
  return st->mismatched == 0;
}

gboolean
golden_compare_f32 (GoldenCase *gc, const char *tensor, const float *got, const float *ref,
                    guint64 n, double abs, double rel, GoldenStats *st)
{
  *st = (GoldenStats) { .tensor = tensor, .compared = n };
  for (guint64 i = 0; i < n; i++) {
    double d = fabs ((double) got[i] - (double) ref[i]);
    if (!(d <= abs + rel * fabs ((double) ref[i])))
      st->mismatched++;
    if (d > st->worst_abs || isnan (d)) {
      st->worst_abs = d;
      st->worst_rel = ref[i] != 0 ? d / fabs ((double) ref[i]) : INFINITY;
      st->worst_at = i;
    }
  }
  return st->mismatched == 0;
}
