/* test-common.c — backend-independent helpers for the op tests. */
#include "test-common.h"

#include <math.h>
#include <string.h>

float *
ts_test_random_values (GRand *rand, size_t n, float lo, float hi)
{
  float *v = g_new (float, n ? n : 1);
  for (size_t i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rand, lo, hi);
  return v;
}

void
ts_test_round_to_dtype (float *values, size_t n, TsDType dtype)
{
  /* the round trip through dtype, with the library's own conversion rules */
  for (size_t i = 0; i < n; i++) {
    guint64 raw = 0;
    ts_convert (&values[i], TS_DTYPE_F32, &raw, dtype, 1);
    ts_convert (&raw, dtype, &values[i], TS_DTYPE_F32, 1);
  }
}

int64_t
ts_test_numel (int ndim, const int64_t *shape)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  return n;
}

TsTensor *
ts_test_tensor (TsBackend *be, TsDType dtype, int ndim, const int64_t *shape, const float *values)
{
  size_t n = (size_t) ts_test_numel (ndim, shape);
  g_autofree void *raw = g_malloc (n * ts_dtype_size (dtype) + 1);
  ts_convert (values, TS_DTYPE_F32, raw, dtype, n);
  TsTensor *t = ts_tensor_new_from_data (be, dtype, ndim, shape, raw);
  if (!t)
    ts_test_assert_no_error (be);
  return t;
}

TsTensor *
ts_test_random_tensor (TsBackend *be, GRand *rand, TsDType dtype, int ndim, const int64_t *shape,
                       float lo, float hi, float **values)
{
  size_t n = (size_t) ts_test_numel (ndim, shape);
  float *v = ts_test_random_values (rand, n, lo, hi);
  ts_test_round_to_dtype (v, n, dtype);
  TsTensor *t = ts_test_tensor (be, dtype, ndim, shape, v);
  if (values)
    *values = v;
  else
    g_free (v);
  return t;
}

float *
ts_test_view_values (const TsTensor *base, const float *base_values, const TsTensor *view)
{
  g_assert_true (base->storage == view->storage);
  size_t es = ts_dtype_size (view->dtype);
  int64_t origin = (int64_t) (view->offset - base->offset) / (int64_t) es;
  int64_t n = ts_tensor_numel (view);
  float *out = g_new (float, n);
  for (int64_t i = 0; i < n; i++) {
    int64_t rest = i, at = origin;
    for (int d = view->ndim - 1; d >= 0; d--) {
      at += (rest % view->shape[d]) * view->stride[d];
      rest /= view->shape[d];
    }
    out[i] = base_values[at];
  }
  return out;
}

float *
ts_test_read (const TsTensor *t)
{
  g_autoptr (GError) error = NULL;
  float *v = ts_tensor_read_f32 (t, &error);
  g_assert_no_error (error);
  g_assert_nonnull (v);
  return v;
}

double
ts_test_nmse (const float *got, const float *want, size_t n)
{
  double err = 0, ref = 0;
  for (size_t i = 0; i < n; i++) {
    double d = (double) got[i] - want[i];
    err += d * d;
    ref += (double) want[i] * want[i];
  }
  return ref > 0 ? err / ref : err;
}

gssize
ts_test_first_nonfinite (const float *values, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite (values[i]))
      return (gssize) i;
  return -1;
}

gboolean
ts_test_check_values (const char *what, const float *got, const float *want, size_t n,
                      double limit)
{
  gssize bad = ts_test_first_nonfinite (got, n);
  if (bad >= 0) {
    g_test_message ("%s: element %" G_GSSIZE_FORMAT " is %g (want %g)", what, bad,
                    got[bad], want[bad]);
    g_test_fail ();
    return FALSE;
  }
  double e = ts_test_nmse (got, want, n);
  if (!(e <= limit)) {
    size_t worst = 0;
    for (size_t i = 1; i < n; i++)
      if (fabs ((double) got[i] - want[i]) > fabs ((double) got[worst] - want[worst]))
        worst = i;
    g_test_message ("%s: nmse %.3g above %.3g; worst element %zu: got %.9g, want %.9g", what, e,
                    limit, worst, got[worst], want[worst]);
    g_test_fail ();
    return FALSE;
  }
  return TRUE;
}

gboolean
ts_test_check_tensor (const char *what, TsBackend *be, const TsTensor *out, const float *want,
                      size_t n, double limit)
{
  ts_test_assert_no_error (be);
  if (!out) {
    g_test_message ("%s: no output", what);
    g_test_fail ();
    return FALSE;
  }
  if ((size_t) ts_tensor_numel (out) != n) {
    g_autofree char *d = ts_tensor_describe (out);
    g_test_message ("%s: output %s, expected %zu elements", what, d, n);
    g_test_fail ();
    return FALSE;
  }
  g_autofree float *got = ts_test_read (out);
  return ts_test_check_values (what, got, want, n, limit);
}

gboolean
ts_test_check_tensors (const char *what, const TsTensor *got, const TsTensor *want, double limit)
{
  g_assert_nonnull (got);
  g_assert_nonnull (want);
  if (ts_tensor_numel (got) != ts_tensor_numel (want)) {
    g_autofree char *dg = ts_tensor_describe (got), *dw = ts_tensor_describe (want);
    g_test_message ("%s: got %s, want %s", what, dg, dw);
    g_test_fail ();
    return FALSE;
  }
  g_autofree float *gv = ts_test_read (got), *wv = ts_test_read (want);
  return ts_test_check_values (what, gv, wv, (size_t) ts_tensor_numel (got), limit);
}

TsTensor *
ts_test_transfer (TsBackend *to, const TsTensor *t)
{
  size_t bytes = ts_tensor_nbytes (t);
  g_autofree void *raw = g_malloc (bytes ? bytes : 1);
  g_autoptr (GError) error = NULL;
  g_assert_true (ts_tensor_read (t, raw, bytes, &error));
  g_assert_no_error (error);
  TsTensor *c = ts_tensor_new_from_data (to, t->dtype, t->ndim, t->shape, raw);
  if (!c)
    ts_test_assert_no_error (to);
  return c;
}

void
ts_test_expect_error (TsBackend *be, TsTensor *result, TsErrorCode code, const char *fragment)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (result);
  g_assert_true (ts_backend_take_error (be, &error));
  g_assert_error (error, TS_ERROR, (gint) code);
  g_assert_nonnull (error->message);
  g_assert_cmpstr (error->message, !=, "");
  if (fragment && !strstr (error->message, fragment)) {
    g_test_message ("error \"%s\" does not mention \"%s\"", error->message, fragment);
    g_test_fail ();
  }
  g_test_message ("expected error: %s", error->message);
  g_assert_false (ts_backend_has_error (be));
}

void
ts_test_assert_no_error (TsBackend *be)
{
  const GError *e = ts_backend_peek_error (be);
  if (e) {
    g_test_message ("backend error: %s", e->message);
    g_assert_no_error (e);
  }
}

GRand *
ts_test_rand_for (const char *test_name)
{
  return g_rand_new_with_seed (g_str_hash (test_name));
}
