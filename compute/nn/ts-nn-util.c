/* ts-nn-util.c — weight lookup with shape checks, op-chaining helpers, sinusoids. */
#include "ts-nn-util.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

struct _TsNnWeights {
  TsBackend     *be;
  TsWeights     *files;   /* NULL in collect mode, and once loading has finished */
  char          *what;
  TsDType        matrix_dtype;
  GHashTable    *used;    /* names handed out (owned strings) */
  GPtrArray     *tensors; /* every tensor handed out or kept: one reference each */
  GPtrArray     *specs;   /* collect mode: TsWeightSpec of every name asked for; else NULL */
  GError        *error;   /* the first lookup failure */
  guint64        bytes;
  gboolean       defer_packing; /* products' weights packed by their first use, not now */
};

static TsNnWeights *
weights_new (TsBackend *be, TsWeights *files, const char *what, TsDType matrix_dtype)
{
  TsNnWeights *w = g_new0 (TsNnWeights, 1);
  w->be = be;
  w->files = files;
  w->what = g_strdup (what);
  w->matrix_dtype = matrix_dtype;
  w->used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  w->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) ts_tensor_unref);
  return w;
}

TsNnWeights *
ts_nn_weights_new (TsBackend *be, TsWeights *files, const char *what, TsDType matrix_dtype)
{
  return weights_new (be, files, what, matrix_dtype);
}

TsNnWeights *
ts_nn_weights_new_collect (const char *what)
{
  TsNnWeights *w = weights_new (NULL, NULL, what, TS_DTYPE_COUNT);
  w->specs = ts_weight_specs_new ();
  return w;
}

GPtrArray *
ts_nn_weights_take_specs (TsNnWeights *w)
{
  g_return_val_if_fail (w->specs != NULL, NULL);
  return g_steal_pointer (&w->specs);
}

TsTensor *
ts_nn_weights_keep (TsNnWeights *w, TsTensor *t)
{
  if (t)
    g_ptr_array_add (w->tensors, t);
  return t;
}

void
ts_nn_weights_free (TsNnWeights *w)
{
  if (!w)
    return;
  g_hash_table_unref (w->used);
  g_ptr_array_unref (w->tensors);
  g_clear_pointer (&w->specs, g_ptr_array_unref);
  g_clear_error (&w->error);
  g_free (w->what);
  g_free (w);
}

static char *
describe_shape (int ndim, const int64_t *shape)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static void
record_error (TsNnWeights *w, GError *err)
{
  if (!w->error)
    w->error = err;
  else
    g_error_free (err);
}

static TsTensor *
weight_v (TsNnWeights *w, int ndim, const int64_t *shape, const char *fmt, va_list ap)
{
  g_autofree char *name = g_strdup_vprintf (fmt, ap);
  if (w->specs) {
    /* collect mode: the name and shape are the answer; nothing is loaded */
    if (g_hash_table_add (w->used, g_strdup (name)))
      g_ptr_array_add (w->specs, ts_weight_spec_new (name, ndim, shape));
    return NULL;
  }
  g_return_val_if_fail (w->files != NULL, NULL); /* loading has finished */
  const TsSafetensorsTensor *info = ts_weights_lookup (w->files, name, NULL);
  if (!info) {
    record_error (w, g_error_new (TS_ERROR, TS_ERROR_CORRUPT, "%s: weight \"%s\" is missing",
                                  w->what, name));
    return NULL;
  }
  gboolean fits = info->ndim == ndim;
  for (int i = 0; fits && i < ndim; i++)
    fits = info->shape[i] == shape[i];
  if (!fits) {
    g_autofree char *want = describe_shape (ndim, shape);
    g_autofree char *have = describe_shape (info->ndim, info->shape);
    record_error (w, g_error_new (TS_ERROR, TS_ERROR_CORRUPT,
                                  "%s: weight \"%s\" has shape %s but the configuration needs %s",
                                  w->what, name, have, want));
    return NULL;
  }
  TsDType dtype = ndim >= 2 ? w->matrix_dtype : TS_DTYPE_F32;
  GError *err = NULL;
  TsTensor *t = ts_weights_load (w->files, name, w->be, dtype, &err);
  if (!t) {
    record_error (w, err);
    return NULL;
  }
  if (!ts_dtype_is_float (t->dtype)) {
    record_error (w, g_error_new (TS_ERROR, TS_ERROR_CORRUPT, "%s: weight \"%s\" is %s, not a "
                                  "float type", w->what, name, info->dtype_name));
    ts_tensor_unref (t);
    return NULL;
  }
  w->bytes += ts_tensor_nbytes (t);
  g_hash_table_add (w->used, g_steal_pointer (&name));
  return ts_nn_weights_keep (w, t);
}

TsTensor *
ts_nn_weight (TsNnWeights *w, int ndim, const int64_t *shape, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  TsTensor *t = weight_v (w, ndim, shape, fmt, ap);
  va_end (ap);
  return t;
}

TsTensor *
ts_nn_weight1 (TsNnWeights *w, int64_t n, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  TsTensor *t = weight_v (w, 1, &n, fmt, ap);
  va_end (ap);
  return t;
}

TsTensor *
ts_nn_weight2 (TsNnWeights *w, int64_t rows, int64_t cols, const char *fmt, ...)
{
  int64_t shape[2] = { rows, cols };
  va_list ap;
  va_start (ap, fmt);
  TsTensor *t = weight_v (w, 2, shape, fmt, ap);
  va_end (ap);
  return t;
}

/* t (may be NULL) prepared for its product; an error is recorded like a lookup's. */
static TsTensor *
prepared (TsNnWeights *w, TsTensor *t, int groups)
{
  GError *err = NULL;
  if (t && !w->defer_packing && !(groups ? ts_prepare_conv2d_weight (w->be, t, groups, &err)
                    : ts_prepare_linear_weight (w->be, t, &err))) {
    record_error (w, err);
    return NULL;
  }
  return t;
}

void
ts_nn_weights_defer_packing (TsNnWeights *w, gboolean defer)
{
  w->defer_packing = defer;
}

TsTensor *
ts_nn_prepare_linear (TsNnWeights *w, TsTensor *t)
{
  return prepared (w, t, 0);
}

TsTensor *
ts_nn_linear_weight (TsNnWeights *w, int64_t out, int64_t in, const char *fmt, ...)
{
  int64_t shape[2] = { out, in };
  va_list ap;
  va_start (ap, fmt);
  TsTensor *t = weight_v (w, 2, shape, fmt, ap);
  va_end (ap);
  return prepared (w, t, 0);
}

TsTensor *
ts_nn_conv_weight (TsNnWeights *w, const int64_t shape[4], int groups, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  TsTensor *t = weight_v (w, 4, shape, fmt, ap);
  va_end (ap);
  return prepared (w, t, groups);
}

gboolean
ts_nn_weights_finish (TsNnWeights *w, const char *ignore_suffix, GError **error)
{
  if (w->error) {
    g_propagate_error (error, g_steal_pointer (&w->error));
    return FALSE;
  }
  if (!w->files)
    return TRUE; /* collect mode: no file to hold anything else */
  guint unused = 0;
  const char *example = NULL;
  for (guint f = 0; f < ts_weights_n_files (w->files); f++) {
    TsSafetensors *st = ts_weights_file (w->files, f);
    for (guint i = 0; i < ts_safetensors_n_tensors (st); i++) {
      const char *name = ts_safetensors_get (st, i)->name;
      if (g_hash_table_contains (w->used, name) ||
          (ignore_suffix && g_str_has_suffix (name, ignore_suffix)))
        continue;
      if (!unused++)
        example = name;
    }
  }
  if (unused) {
    g_set_error (error, TS_ERROR, TS_ERROR_CORRUPT,
                 "%s: the weights hold %u tensor%s the configuration does not use (such as "
                 "\"%s\"); they do not fit config.json", w->what, unused,
                 unused == 1 ? "" : "s", example);
    return FALSE;
  }
  w->files = NULL; /* the caller's; the network keeps only the tensors */
  return TRUE;
}

guint64
ts_nn_weights_bytes (const TsNnWeights *w)
{
  return w->bytes;
}

TsTensor *
ts_nn_add_consume (TsBackend *be, TsTensor *a, TsTensor *b)
{
  TsTensor *sum = ts_add (be, a, b);
  ts_tensor_unref (a);
  ts_tensor_unref (b);
  return sum;
}

TsTensor *
ts_nn_heads_consume (TsTensor *x, int heads)
{
  if (!x)
    return NULL;
  int64_t shape[4] = { x->shape[0], x->shape[1], heads, x->shape[2] / heads };
  return ts_nn_replace (x, ts_tensor_reshape (x, 4, shape));
}

TsTensor *
ts_nn_merge_heads_consume (TsTensor *x)
{
  if (!x)
    return NULL;
  int64_t shape[3] = { x->shape[0], x->shape[1], x->shape[2] * x->shape[3] };
  return ts_nn_replace (x, ts_tensor_reshape (x, 3, shape));
}

TsTensor *
ts_nn_linear_consume (TsBackend *be, TsTensor *x, TsTensor *weight)
{
  return ts_nn_replace (x, ts_linear (be, x, weight, NULL));
}

TsTensor *
ts_nn_nchw_to_tokens (TsBackend *be, TsTensor *x)
{
  if (!x)
    return NULL;
  static const int perm[3] = { 0, 2, 1 };
  int64_t flat[3] = { x->shape[0], x->shape[1], x->shape[2] * x->shape[3] };
  g_autoptr (TsTensor) xc = ts_tensor_is_contiguous (x) ? ts_tensor_ref (x) : ts_copy (be, x, TS_DTYPE_F32);
  g_autoptr (TsTensor) x3 = ts_tensor_reshape (xc, 3, flat);
  return x3 ? ts_permute (be, x3, perm) : NULL;
}

TsTensor *
ts_nn_tokens_to_nchw (TsBackend *be, TsTensor *x, int64_t h, int64_t w)
{
  if (!x)
    return NULL;
  static const int perm[3] = { 0, 2, 1 };
  g_autoptr (TsTensor) t = ts_permute (be, x, perm);
  int64_t shape[4] = { x->shape[0], x->shape[2], h, w };
  return t ? ts_tensor_reshape (t, 4, shape) : NULL;
}

TsTensor *
ts_nn_finish (TsBackend *be, TsTensor *result, const char *what, GError **error)
{
  if (result && !ts_backend_has_error (be))
    return result;
  ts_tensor_unref (result);
  if (!ts_backend_take_error (be, error))
    g_set_error (error, TS_ERROR, TS_ERROR_DEVICE, "%s failed", what);
  else if (error && *error)
    g_prefix_error (error, "%s: ", what);
  return NULL;
}

gboolean
ts_nn_check (TsBackend *be, const char *what, GError **error)
{
  if (!ts_backend_has_error (be))
    return TRUE;
  ts_backend_take_error (be, error);
  if (error && *error)
    g_prefix_error (error, "%s: ", what);
  return FALSE;
}

void
ts_nn_sinusoid_embedding (float t, int dim, float *out)
{
  /* Each step rounds to float32 where torch does, so the phases match at large t. */
  int half = dim / 2;
  const float neg_log_period = (float) -log (10000.0);
  for (int j = 0; j < half; j++) {
    float exponent = (neg_log_period * (float) j) / (float) half;
    float arg = t * expf (exponent);
    out[j] = (float) cos ((double) arg);
    out[half + j] = (float) sin ((double) arg);
  }
}
