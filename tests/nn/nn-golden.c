/* nn-golden.c — goldens folder access for the network tests. */
#include "nn-golden.h"

#include <math.h>
#include <string.h>

const char *
nn_goldens_dir (void)
{
  return golden_paths_dir ();
}

NnManifest *
nn_manifest_get (char **skip_reason)
{
  static NnManifest manifest;
  g_autoptr (GError) error = NULL;
  if (!manifest.root)
    manifest.root = golden_paths_manifest (&error);
  if (!manifest.root)
    *skip_reason = g_strdup (error->message);
  return manifest.root ? &manifest : NULL;
}

char *
nn_tiny_model_dir (char **skip_reason)
{
  g_autoptr (GError) error = NULL;
  char *dir = golden_paths_tiny ("dir", &error);
  if (!dir && skip_reason)
    *skip_reason = g_strdup (error->message);
  return dir;
}

JsonObject *
nn_manifest_case (NnManifest *m, const char *name)
{
  JsonArray *cases = json_object_get_array_member (m->root, "cases");
  for (guint i = 0; cases && i < json_array_get_length (cases); i++) {
    JsonObject *c = json_array_get_object_element (cases, i);
    if (g_str_equal (json_object_get_string_member (c, "name"), name))
      return c;
  }
  return NULL;
}

NnTolerance
nn_case_tolerance (JsonObject *c)
{
  JsonObject *t = json_object_get_object_member (c, "tolerance");
  NnTolerance tol = { json_object_get_double_member (t, "abs"),
                      json_object_get_double_member (t, "rel") };
  return tol;
}

TsSafetensors *
nn_case_open (JsonObject *c, GError **error)
{
  JsonArray *files = json_object_get_array_member (c, "files");
  const char *file = NULL;
  for (guint i = 0; files && i < json_array_get_length (files); i++) {
    const char *f = json_array_get_string_element (files, i);
    if (g_str_has_suffix (f, ".safetensors")) {
      file = f;
      break;
    }
  }
  if (!file) {
    g_set_error (error, TS_ERROR, TS_ERROR_IO, "case %s has no tensor file",
                 json_object_get_string_member (c, "name"));
    return NULL;
  }
  g_autofree char *path = g_build_filename (nn_goldens_dir (), file, NULL);
  return ts_safetensors_open (path, error);
}

gboolean
nn_has (TsSafetensors *st, const char *name)
{
  return ts_safetensors_lookup (st, name) != NULL;
}

static const TsSafetensorsTensor *
lookup (TsSafetensors *st, const char *name, int *ndim, int64_t *shape)
{
  const TsSafetensorsTensor *info = ts_safetensors_lookup (st, name);
  if (!info)
    g_error ("the case's tensor file has no tensor \"%s\"", name);
  if (ndim)
    *ndim = info->ndim;
  if (shape)
    memcpy (shape, info->shape, sizeof (int64_t) * info->ndim);
  return info;
}

float *
nn_read_f32 (TsSafetensors *st, const char *name, int *ndim, int64_t *shape)
{
  const TsSafetensorsTensor *info = lookup (st, name, ndim, shape);
  float *data = g_new (float, info->numel);
  g_autoptr (GError) error = NULL;
  g_assert_true (ts_safetensors_read (st, info, TS_DTYPE_F32, data, info->numel * 4, &error));
  return data;
}

int32_t *
nn_read_i32 (TsSafetensors *st, const char *name, int *ndim, int64_t *shape)
{
  const TsSafetensorsTensor *info = lookup (st, name, ndim, shape);
  g_autofree int64_t *wide = g_new (int64_t, info->numel);
  g_autoptr (GError) error = NULL;
  g_assert_true (info->dtype == TS_DTYPE_I64);
  g_assert_true (ts_safetensors_read (st, info, TS_DTYPE_I64, wide, info->numel * 8, &error));
  int32_t *ids = g_new (int32_t, info->numel);
  for (guint64 i = 0; i < info->numel; i++)
    ids[i] = (int32_t) wide[i];
  return ids;
}

/* ---- SplitMix64 weights ---- */

typedef struct {
  guint64 seed, n;
  float   offset, scale;
} SpecFill;

static void
splitmix_fill (const SpecFill *s, float *dst)
{
  guint64 state = s->seed;
  for (guint64 i = 0; i < s->n; i++) {
    state += 0x9E3779B97F4A7C15ull;
    guint64 z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    float r = (float) ((int64_t) (z >> 48) - 32768) / 32768.0f;
    dst[i] = s->offset + s->scale * r;
  }
}

static gboolean
fill_cb (void *dst, size_t size, gpointer user_data, GError **error)
{
  splitmix_fill (user_data, dst);
  return TRUE;
}

/* Generates the first values and the sum of one spec, as the manifest lists them. */
static void
verify_spec (JsonObject *spec, const SpecFill *s)
{
  g_autofree float *all = g_new (float, s->n);
  splitmix_fill (s, all);
  JsonArray *first = json_object_get_array_member (spec, "check_first4");
  for (guint i = 0; i < json_array_get_length (first) && i < s->n; i++)
    g_assert_cmpfloat (all[i], ==, json_array_get_double_element (first, i));
  double sum = 0;
  for (guint64 i = 0; i < s->n; i++)
    sum += all[i];
  g_assert_cmpfloat_with_epsilon (sum, json_object_get_double_member (spec, "check_sum_f64"),
                                  1e-6 * MAX (1.0, fabs (sum)));
}

TsWeights *
nn_medium_weights (JsonObject *c, const char *prefix, const char *label, GError **error)
{
  JsonArray *specs = json_object_get_array_member (c, "weights");
  g_autoptr (TsSafetensorsWriter) w = ts_safetensors_writer_new ();
  for (guint i = 0; i < json_array_get_length (specs); i++) {
    JsonObject *spec = json_array_get_object_element (specs, i);
    const char *name = json_object_get_string_member (spec, "name");
    if (prefix && !g_str_has_prefix (name, prefix))
      continue;
    JsonArray *dims = json_object_get_array_member (spec, "shape");
    int ndim = (int) json_array_get_length (dims);
    int64_t shape[8];
    SpecFill *s = g_new0 (SpecFill, 1);
    s->n = 1;
    for (int d = 0; d < ndim; d++) {
      shape[d] = json_array_get_int_element (dims, d);
      s->n *= (guint64) shape[d];
    }
    s->seed = (guint64) json_object_get_int_member (spec, "seed");
    s->offset = (float) json_object_get_double_member (spec, "offset");
    s->scale = (float) json_object_get_double_member (spec, "scale");
    if (i % 16 == 0 || s->n < 4096) /* spot-check the rule on a share of the specs */
      verify_spec (spec, s);
    if (!ts_safetensors_writer_add_fill (w, name, TS_DTYPE_F32, ndim, shape, fill_cb, s, g_free,
                                         error))
      return NULL;
  }
  g_autoptr (GBytes) bytes = ts_safetensors_writer_to_bytes (w, error);
  if (!bytes)
    return NULL;
  g_autoptr (TsSafetensors) st = ts_safetensors_new_from_bytes (bytes, label, error);
  return st ? ts_weights_new (&st, 1, label, error) : NULL;
}

char *
nn_case_config_json (JsonObject *c)
{
  JsonNode *node = json_object_get_member (c, "config");
  g_assert_nonnull (node);
  return json_to_string (node, FALSE);
}

/* ---- comparison ---- */

NnCompare
nn_compare (const float *got, const float *ref, int64_t n, NnTolerance tol)
{
  NnCompare r = { 0 };
  for (int64_t i = 0; i < n; i++) {
    double d = fabs ((double) got[i] - ref[i]);
    double allowed = tol.abs + tol.rel * fabs (ref[i]);
    double ratio = isfinite (d) ? d / allowed : INFINITY;
    if (isnan (got[i]))
      ratio = INFINITY;
    if (d > r.max_abs || !isfinite (d))
      r.max_abs = isfinite (d) ? d : INFINITY;
    if (ratio > r.worst_ratio) {
      r.worst_ratio = ratio;
      r.worst_index = i;
    }
    if (ratio > 1)
      r.n_bad++;
  }
  return r;
}

gboolean
nn_check (const char *what, const float *got, const float *ref, int64_t n, NnTolerance tol)
{
  NnCompare r = nn_compare (got, ref, n, tol);
  g_test_message ("%-40s max |err| %.3g, worst %.3f of tolerance (at %" G_GINT64_FORMAT
                  ": got %.6g, ref %.6g)%s", what, r.max_abs, r.worst_ratio, r.worst_index,
                  n ? got[r.worst_index] : 0.0, n ? ref[r.worst_index] : 0.0,
                  r.n_bad ? " FAIL" : "");
  return r.n_bad == 0;
}

float *
nn_nchw_to_nhwc (const float *x, int64_t b, int64_t c, int64_t hw)
{
  float *out = g_new (float, b * c * hw);
  for (int64_t n = 0; n < b; n++)
    for (int64_t ch = 0; ch < c; ch++)
      for (int64_t p = 0; p < hw; p++)
        out[(n * hw + p) * c + ch] = x[(n * c + ch) * hw + p];
  return out;
}

TsBackend *
nn_backend_new (const char *kind, char **skip_reason)
{
  g_autoptr (GError) error = NULL;
  TsBackend *be = g_str_equal (kind, "cpu") ? ts_backend_new_cpu (0, &error)
                                             : ts_backend_new_vulkan (-1, TRUE, &error);
  if (!be)
    *skip_reason = g_strdup_printf ("no %s backend: %s", kind, error->message);
  return be;
}
